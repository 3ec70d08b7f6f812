// A forward request as the gateway's HTTP layer makes one, for the forwarder's tests: a chat
// completion of model "m" with body "{}" and a record of decision `decisionId` for whichever region is tried
// (listing the attempts before it), the law permitting every region unless `over` says otherwise.
import { createHash } from 'node:crypto';
import { watchSignal, type ForwardRequest } from '../../src/gateway/forward.ts';

export const EMPTY_BODY_SHA = createHash('sha256').update('{}').digest('hex');

export function chatForward(decisionId: string, over: Partial<ForwardRequest> = {}, signal: AbortSignal = new AbortController().signal): ForwardRequest {
  return {
    model: 'm',
    method: 'POST',
    path: '/v1/chat/completions',
    body: Buffer.from('{}'),
    contentType: 'application/json',
    client: watchSignal(signal),
    permitted: () => true,
    plan: (region, before) => ({ record: { entry: { v: 1, kind: 'decision', decision_id: decisionId, region, attempts: before.map((a) => ({ region: a.region, outcome: a.outcome })) }, body_sha256: EMPTY_BODY_SHA }, elsewhere: [] }),
    ...over,
  };
}
