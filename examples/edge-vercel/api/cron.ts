/** Vercel Cron calls GET with `Authorization: Bearer $CRON_SECRET`: one budgeted drain. */
import type { WaitUntil } from '@tideq/edge';
import { handler } from '../lib/handler.ts';

export const config = { runtime: 'edge' };

export default async function cron(request: Request, context?: WaitUntil): Promise<Response> {
  const secret = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env
    .CRON_SECRET;
  if (!secret || request.headers.get('authorization') !== `Bearer ${secret}`) {
    return Response.json({ error: { code: 'UNAUTHORIZED', message: 'cron only' } }, { status: 401 });
  }
  return Response.json(await handler.drain(undefined, context));
}
