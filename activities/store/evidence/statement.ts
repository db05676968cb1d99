// Each artifact as an in-toto Statement v1 (github.com/in-toto/attestation, spec/v1): subject by
// digest (the head commit when the artifact is about one, else the task), a predicate type per kind
// (docs/ARCHITECTURE.md, "The evidence chain"). Every predicate carries the artifact's payload
// verbatim (`record`: a decision's own signature stays inside) and its place in the chain (`link`:
// seq and the previous envelope's digest), so that the chain is in what is signed.
import type { ArtifactInput, ChainInput } from '../../../workflows/task/types.ts';
import { canonicalJson, sha256Of } from './canonical.ts';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const PREDICATE_TYPES = {
  intent: 'https://swarmflow.dev/attestation/intent/v1',
  receipt: 'https://slsa.dev/provenance/v1',
  verification: 'https://swarmflow.dev/attestation/verification/v1',
} as const;
const ORCHESTRATOR_ID = 'https://swarmflow.dev/orchestrator/v1';

export interface Link {
  taskId: string;
  runKey: string;
  seq: number;
  previous: string | null;
  key: string;
  kind: ArtifactInput['kind'];
  step: string;
  at: string;
}

export interface Statement {
  _type: typeof STATEMENT_TYPE;
  subject: Array<{ name: string; digest: Record<string, string> }>;
  predicateType: string;
  predicate: Record<string, unknown>;
}

export type ChainedArtifact = ArtifactInput & { chain: ChainInput };

const hex = (digest: string) => digest.slice('sha256:'.length);

function subjectOf(a: ChainedArtifact): Statement['subject'] {
  const head = a.payload.headSha;
  if (typeof head === 'string' && /^[0-9a-f]{40,64}$/.test(head)) return [{ name: `git:${head}`, digest: { gitCommit: head } }];
  return [{ name: `task:${a.taskId}`, digest: { sha256: hex(sha256Of(`${a.taskId}/${a.runKey ?? ''}`)) } }];
}

export function buildStatement(a: ChainedArtifact): Statement {
  const link: Link = { taskId: a.taskId, runKey: a.runKey ?? '', seq: a.chain.seq, previous: a.chain.previous ?? null, key: a.key, kind: a.kind, step: a.step, at: a.chain.at };
  const record = a.payload;
  const base = { _type: STATEMENT_TYPE, subject: subjectOf(a), predicateType: PREDICATE_TYPES[a.kind] } as const;
  if (a.kind === 'intent') {
    return { ...base, predicate: { link, specDigest: sha256Of(canonicalJson(record.spec ?? null)), record } };
  }
  if (a.kind === 'receipt') {
    // SLSA Provenance v1: what the orchestrator had an agent (or the forge) do, and with what.
    const prompt = typeof record.prompt === 'string' ? { promptDigest: sha256Of(record.prompt) } : {};
    return {
      ...base,
      predicate: {
        buildDefinition: { buildType: `https://swarmflow.dev/${a.key.split(':')[1] ?? 'receipt'}/v1`, externalParameters: { link, ...prompt }, internalParameters: { record } },
        runDetails: { builder: { id: ORCHESTRATOR_ID }, metadata: { invocationId: `${a.taskId}/${link.runKey}/${a.key}`, ...(typeof record.startedAt === 'string' ? { startedOn: record.startedAt } : {}) } },
      },
    };
  }
  return { ...base, predicate: { link, verifier: { id: ORCHESTRATOR_ID }, check: a.key.split(':')[1] ?? 'verification', record } };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The predicate's chain position and payload, wherever its type keeps them. */
export function partsOf(statement: unknown): { link: Link; record: Record<string, unknown> } | undefined {
  if (!isObject(statement) || statement._type !== STATEMENT_TYPE || !isObject(statement.predicate)) return undefined;
  const p = statement.predicate;
  const build = isObject(p.buildDefinition) ? p.buildDefinition : undefined;
  const link = build && isObject(build.externalParameters) ? build.externalParameters.link : p.link;
  const record = build && isObject(build.internalParameters) ? build.internalParameters.record : p.record;
  if (!isObject(link) || typeof link.seq !== 'number' || typeof link.key !== 'string' || !isObject(record)) return undefined;
  return { link: link as unknown as Link, record };
}
