// GitHub's official OpenAPI description (@octokit/openapi, api.github.com) as the contract of the
// stand-in: only the operations it serves are compiled (Ajv 8 + ajv-formats). The description is
// OpenAPI 3.0, whose `nullable: true` is not JSON Schema: it is rewritten first (a type gains
// "null", an enum gains null, a $ref/allOf/oneOf without a type becomes `anyOf [it, null]`).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Schema = { [k: string]: Json };

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const DOC_ID = 'github-api.json';

export interface OperationSpec {
  operationId: string;
  method: string;
  path: string;
  /** `/repos/{owner}/{repo}/pulls/{pull_number}` as a regex with one group per parameter. */
  pattern: RegExp;
  params: string[];
}

interface Compiled {
  body?: ValidateFunction;
  query?: ValidateFunction;
  responses: Map<string, ValidateFunction | null>;
}

export interface Violation {
  direction: 'request' | 'response';
  operationId: string;
  status?: number;
  errors: string[];
}

function nullableToJsonSchema(node: Json): Json {
  if (Array.isArray(node)) return node.map(nullableToJsonSchema);
  if (node === null || typeof node !== 'object') return node;
  const out: Schema = {};
  for (const [k, v] of Object.entries(node)) {
    // Examples are data, not schema: left alone (and not needed).
    if (k === 'example' || k === 'examples') continue;
    if (k === '$ref' && typeof v === 'string' && v.startsWith('#/components/')) out[k] = `${DOC_ID}${v}`;
    else out[k] = nullableToJsonSchema(v);
  }
  if (out.nullable === true) {
    delete out.nullable;
    if (typeof out.type === 'string') {
      out.type = [out.type, 'null'];
      if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
      return out;
    }
    return { anyOf: [out, { type: 'null' }] };
  }
  if (out.nullable === false) delete out.nullable;
  return out;
}

let loaded: { spec: Schema; components: Schema } | undefined;
function load() {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const file = require.resolve('@octokit/openapi/generated/api.github.com.json');
  const spec = JSON.parse(readFileSync(file, 'utf8')) as Schema;
  const components = nullableToJsonSchema(spec.components as Json) as Schema;
  loaded = { spec, components };
  return loaded;
}

const fmtErrors = (errors: ErrorObject[] | null | undefined): string[] =>
  (errors ?? []).slice(0, 20).map((e) => `${e.instancePath || '(root)'} ${e.message ?? ''}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`);

/** The compiled contract for a set of operations, found by operationId in GitHub's description. */
export class OpenApiContract {
  readonly operations: OperationSpec[] = [];
  private readonly ajv: Ajv;
  private readonly coercing: Ajv;
  private readonly compiled = new Map<string, Compiled>();
  private readonly raw = new Map<string, Schema>();

  constructor(operationIds: string[]) {
    const { spec, components } = load();
    const mk = (coerceTypes: boolean) => {
      const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, logger: false, coerceTypes });
      addFormats(ajv);
      ajv.addSchema({ $id: DOC_ID, components });
      return ajv;
    };
    this.ajv = mk(false);
    this.coercing = mk(true);
    const wanted = new Set(operationIds);
    for (const [path, item] of Object.entries(spec.paths as Record<string, Record<string, Schema>>)) {
      for (const [method, op] of Object.entries(item)) {
        const id = op.operationId as string | undefined;
        if (!id || !wanted.has(id)) continue;
        wanted.delete(id);
        const params: string[] = [];
        const source = path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{([^}]+)\}/g, (_m, name: string) => {
          params.push(name);
          return '([^/]+)';
        });
        this.operations.push({ operationId: id, method: method.toUpperCase(), path, pattern: new RegExp(`^${source}$`), params });
        this.raw.set(id, nullableToJsonSchema(op) as Schema);
      }
    }
    if (wanted.size > 0) throw new Error(`operations not in GitHub's OpenAPI description: ${[...wanted].join(', ')}`);
  }

  match(method: string, path: string): { op: OperationSpec; params: Record<string, string> } | undefined {
    for (const op of this.operations) {
      if (op.method !== method) continue;
      const m = op.pattern.exec(path);
      if (!m) continue;
      const params: Record<string, string> = {};
      op.params.forEach((name, i) => (params[name] = decodeURIComponent(m[i + 1]!)));
      return { op, params };
    }
    return undefined;
  }

  private deref(node: Json): Schema {
    const { components } = load();
    let cur = node as Schema;
    while (cur && typeof cur.$ref === 'string') {
      const parts = (cur.$ref).slice(`${DOC_ID}#/components/`.length).split('/');
      cur = parts.reduce<Json>((acc, p) => (acc as Schema)[p]!, components) as Schema;
    }
    return cur;
  }

  private forOp(operationId: string): Compiled {
    let c = this.compiled.get(operationId);
    if (c) return c;
    const op = this.raw.get(operationId);
    if (!op) throw new Error(`operation ${operationId} is not part of this contract`);
    c = { responses: new Map() };
    const body = op.requestBody ? this.deref(op.requestBody) : undefined;
    const bodySchema = (body?.content as Schema | undefined)?.['application/json'] as Schema | undefined;
    if (bodySchema?.schema) c.body = this.ajv.compile(bodySchema.schema as object);
    const query: Schema = { type: 'object', properties: {}, required: [] };
    for (const p of (op.parameters as Json[] | undefined) ?? []) {
      const param = this.deref(p);
      if (param.in !== 'query') continue;
      (query.properties as Schema)[param.name as string] = param.schema as Json;
      if (param.required) (query.required as string[]).push(param.name as string);
    }
    c.query = this.coercing.compile(query);
    this.compiled.set(operationId, c);
    return c;
  }

  private responseValidator(operationId: string, status: number): ValidateFunction | null {
    const c = this.forOp(operationId);
    const key = String(status);
    if (c.responses.has(key)) return c.responses.get(key)!;
    const op = this.raw.get(operationId)!;
    const responses = op.responses as Schema;
    const declared = responses[key] ?? responses.default;
    let v: ValidateFunction | null;
    if (declared) {
      const res = this.deref(declared);
      const content = res.content as Schema | undefined;
      const json = (content?.['application/json'] ?? content?.['application/scim+json']) as Schema | undefined;
      v = json?.schema ? this.ajv.compile(json.schema as object) : content ? null : this.ajv.compile({ not: {} });
      // A declared response with no content (204) must have no body: `{ not: {} }` rejects anything given.
    } else {
      // Not declared for this operation (an injected 500, a 401): GitHub still answers with its basic error shape.
      v = this.ajv.compile({ $ref: `${DOC_ID}#/components/schemas/basic-error` });
    }
    c.responses.set(key, v);
    return v;
  }

  validateRequest(operationId: string, query: Record<string, unknown>, body: unknown): string[] {
    const c = this.forOp(operationId);
    const errors: string[] = [];
    if (c.query && !c.query({ ...query })) errors.push(...fmtErrors(c.query.errors).map((e) => `query ${e}`));
    if (c.body && body !== undefined && !c.body(body)) errors.push(...fmtErrors(c.body.errors).map((e) => `body ${e}`));
    return errors;
  }

  /** Errors for a JSON response body; `undefined` body means "no body". Non-JSON media types are not checked. */
  validateResponse(operationId: string, status: number, body: unknown): string[] {
    const v = this.responseValidator(operationId, status);
    if (v === null) return [];
    if (body === undefined) return v.schema && (v.schema as Schema).not ? [] : ['(root) a body is required'];
    return v(body) ? [] : fmtErrors(v.errors);
  }

  /** A minimal value that satisfies a component schema (every required field, nothing else), then `overrides` laid over it. */
  example<T = Record<string, unknown>>(component: string, overrides: Record<string, unknown> = {}): T {
    const base = this.fill(this.deref({ $ref: `${DOC_ID}#/components/schemas/${component}` }), 0) as Record<string, unknown>;
    return deepMerge(base, overrides) as T;
  }

  private fill(schema: Schema, depth: number): unknown {
    schema = this.deref(schema);
    if (depth > 12) return null;
    if (schema.anyOf) {
      const opts = (schema.anyOf as Schema[]).map((s) => this.deref(s));
      const nonNull = opts.find((s) => s.type !== 'null');
      // Nullable objects are null: the smallest valid value.
      return opts.some((s) => s.type === 'null') ? null : this.fill(nonNull!, depth + 1);
    }
    if (schema.oneOf) return this.fill((schema.oneOf as Schema[])[0]!, depth + 1);
    if (schema.allOf) return Object.assign({}, ...(schema.allOf as Schema[]).map((s) => this.fill(s, depth + 1) as object));
    if (schema.enum) return (schema.enum as Json[]).find((e) => e !== null) ?? null;
    const type = Array.isArray(schema.type) ? (schema.type.includes('null') ? 'null' : schema.type[0]) : schema.type;
    switch (type) {
      case 'null':
        return null;
      case 'boolean':
        return false;
      case 'integer':
      case 'number':
        return 1;
      case 'array':
        return [];
      case 'string':
        if (schema.format === 'date-time') return '2024-01-01T00:00:00Z';
        if (schema.format === 'uri' || schema.format === 'uri-template') return 'https://github.invalid/';
        if (schema.format === 'email') return 'nobody@github.invalid';
        return '';
      default: {
        const out: Record<string, unknown> = {};
        const props = (schema.properties ?? {}) as Record<string, Schema>;
        for (const name of (schema.required as string[] | undefined) ?? []) out[name] = props[name] ? this.fill(props[name], depth + 1) : '';
        return out;
      }
    }
  }
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b) ? deepMerge(b as Record<string, unknown>, v as Record<string, unknown>) : v;
  }
  return out;
}
