// What one link of the chain proves, in a line an operator or an auditor reads (`swarm verify`).
import type { Link } from './statement.ts';

type Rec = Record<string, unknown>;
const short = (sha: unknown) => (typeof sha === 'string' ? sha.slice(0, 12) : '?');
const arr = (v: unknown): Rec[] => (Array.isArray(v) ? (v as Rec[]) : []);
const str = (v: unknown, fallback = '?') => (typeof v === 'string' || typeof v === 'number' ? String(v) : fallback);

function ci(r: Rec): string {
  const checks = arr(r.checks);
  const names = checks.map((c) => `${str(c.name)} ${str(c.status)}`).join(', ');
  return `CI ${str(r.status)} at ${short(r.headSha)}: ${checks.length} check(s)${names ? ` (${names})` : ''}`;
}

function review(r: Rec): string {
  const results = arr(r.results);
  const each = results.map((x) => `${str(x.reviewer)} ${str(x.status)}, ${arr(x.findings).length} finding(s)`).join('; ');
  return `review at ${short(r.headSha)} by ${results.length} reviewer(s)${each ? `: ${each}` : ''}`;
}

function final(r: Rec): string {
  const d = (r.decision ?? {}) as Rec;
  const signed = d.signed as Rec | undefined;
  const how = signed ? `signed via ${str(signed.channel)}` : d.channel ? `via ${str(d.channel)}` : 'unsigned';
  const merge = (r.merge ?? {}) as Rec;
  return `${str(d.decision, 'no decision')} by ${str(d.by, 'nobody')} (${how}) at ${short(r.headSha)}; merged as ${short(merge.sha)}`;
}

export function proves(link: Link, r: Rec): string {
  const [kind, what] = link.key.split(':');
  if (kind === 'intent') {
    const spec = (r.spec ?? {}) as Rec;
    return `intent: "${str(spec.title)}" on ${str(spec.repository)} routed to ${str(r.agent)} (${str(r.routingReason, 'no reason')}); CI ${arr(r.ci).length} check(s)`;
  }
  if (kind === 'receipt' && what === 'spawn') return `agent ${str(r.agent)} started attempt ${str(r.attempt)} run ${str(r.run, '1')} in session ${str(r.session)}`;
  if (kind === 'receipt' && what === 'run') {
    const outcome = (r.outcome ?? {}) as Rec;
    const usage = (outcome.usage ?? {}) as Rec;
    const cost = (outcome.cost ?? {}) as Rec;
    const tokens = outcome.usage ? `, ${str(usage.inputTokens)} in / ${str(usage.outputTokens)} out tokens` : '';
    return `agent ${str(r.agent)}${r.model ? ` (${str(r.model)})` : ''} ended attempt ${str(r.attempt)}: exit ${str(r.exitCode, 'none')}, ${str(r.commits)} commit(s) to ${short(r.headSha)}${tokens}${typeof cost.usd === 'number' ? `, $${cost.usd.toFixed(4)}` : ''}`;
  }
  if (kind === 'receipt' && what === 'pr') return `PR #${str(r.number)} opened: ${str(r.url)}`;
  if (what === 'ci') return ci(r);
  if (what === 'review') return review(r);
  if (what === 'policy') return `policy gate ${str(r.status)} at ${short(r.headSha)}: ${arr(r.hits).length} hit(s)`;
  if (what === 'screenshots') return `screenshots ${str(r.status)} at ${short(r.headSha)}: ${arr(r.routes).length} route(s)`;
  if (what === 'attempt') return `attempt failed (${str(r.kind)}): ${str((r.evidence as Rec | undefined)?.summary)}`;
  if (what === 'final') return final(r);
  return `${link.kind} ${link.key}`;
}
