// Variables of the test process's environment, changed for a test and put back after it. The
// workers a test starts read them (the agents' keys, the worker's secrets).

/** `set` and `unset` remember what was there; `restore()` puts it back. */
export function processEnv() {
  const saved = new Map<string, string | undefined>();
  const remember = (name: string) => {
    if (!saved.has(name)) saved.set(name, process.env[name]);
  };
  return {
    set(name: string, value: string): void {
      remember(name);
      process.env[name] = value;
    },
    unset(name: string): void {
      remember(name);
      delete process.env[name];
    },
    restore(): void {
      for (const [name, value] of saved) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      saved.clear();
    },
  };
}
