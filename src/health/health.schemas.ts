/**
 * Response shapes of the health routes (health.routes.ts): live, ready and deep.
 * Importable by the web app: this module imports only TypeBox and other schema modules.
 */
import { Type } from '@sinclair/typebox';

export const CheckSchema = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('unhealthy')]),
  latencyMs: Type.Number(),
  detail: Type.Optional(Type.String()),
});
export const LiveAnswer = Type.Object({ status: Type.Literal('ok') });
export const ReadyAnswer = Type.Object({ status: Type.String(), database: CheckSchema });
export const ReadyUnavailable = Type.Object({ status: Type.String(), database: Type.Optional(CheckSchema), detail: Type.Optional(Type.String()) });
/** `/health/deep`, 200 or 503: `checks` only for operators. */
export const DeepAnswer = Type.Object({ status: Type.String(), checks: Type.Optional(Type.Record(Type.String(), CheckSchema)) });
