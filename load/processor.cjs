/**
 * Artillery hooks for load/scenarios.yml. `checkStatus` fails the virtual user on any answer that
 * is not 2xx or 3xx (Artillery counts only transport errors by itself), so `vusers.failed` counts
 * failed requests: a VU stops at its first failure. `writeKeyAuth` sends the Segment write key as
 * the HTTP Basic user name.
 */
'use strict';

function checkStatus(request, response, context, events, next) {
  if (response.statusCode >= 400) {
    events.emit('counter', `unite.status.${response.statusCode}`, 1);
    return next(new Error(`HTTP ${response.statusCode} from ${request.name || request.url}`));
  }
  return next();
}

function writeKeyAuth(request, context, events, next) {
  request.headers = { ...(request.headers || {}), authorization: `Basic ${Buffer.from(`${context.vars.writeKey}:`).toString('base64')}` };
  return next();
}

module.exports = { checkStatus, writeKeyAuth };
