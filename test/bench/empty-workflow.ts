// The yardstick of the tasks section: a workflow that does nothing. Its round trip (start → result,
// one workflow task) is Temporal's own cost on this machine in this run, which the section's
// overhead figure is divided by, so that a noisy machine does not hide a regression.
export async function emptyWorkflow(): Promise<void> {}
