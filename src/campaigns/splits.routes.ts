/**
 * The A/B split routes: per-variant results of a campaign's splits with their test and winner,
 * and the winner picked or cleared by hand (docs/ab-testing.md). Shapes in splits.schemas.ts.
 */
import type { AppDeps } from '../app.js';
import { actorOf, authOf } from '../http/auth.js';
import { IdParams } from '../http/schemas.js';
import { apiErrors, errors, type ApiInstance } from '../http/typed.js';
import { campaignSplitResults } from './split-results.js';
import { clearSplitWinner, pickSplitWinner } from './split-tests.js';
import { PickWinnerBody, SplitParams, SplitResult, SplitResultsAnswer } from './splits.schemas.js';

export function splitRoutes(api: ApiInstance, deps: AppDeps): void {
  api.get(
    '/campaigns/:id/splits',
    {
      config: { permission: 'campaigns:read' },
      schema: { tags: ['campaigns'], summary: "Per-variant results of the published version's A/B splits, with 95 % intervals, the automatic test and the winner", params: IdParams, response: { 200: SplitResultsAnswer, ...apiErrors(400, 404) } },
    },
    async (request) => campaignSplitResults(deps.db, authOf(request).workspaceId, request.params.id),
  );

  api.post(
    '/campaigns/:id/splits/:nodeId/winner',
    {
      config: { permission: 'campaigns:write' },
      schema: { tags: ['campaigns'], summary: 'Pick a winner by hand: later contacts reaching the split all go to it', params: SplitParams, body: PickWinnerBody, response: { 200: SplitResult, ...apiErrors(400, 404) } },
    },
    async (request) => pickSplitWinner(deps, authOf(request).workspaceId, actorOf(request), request.params.id, request.params.nodeId, request.body.variant),
  );

  api.delete(
    '/campaigns/:id/splits/:nodeId/winner',
    {
      config: { permission: 'campaigns:write' },
      schema: { tags: ['campaigns'], summary: 'Clear the winner: later contacts are split by weight again', params: SplitParams, response: { 200: SplitResult, ...apiErrors(400, 404), ...errors(409) } },
    },
    async (request) => clearSplitWinner(deps, authOf(request).workspaceId, actorOf(request), request.params.id, request.params.nodeId),
  );
}
