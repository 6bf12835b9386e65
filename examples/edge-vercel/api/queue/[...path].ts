/** /api/queue/* (a catch-all route): POST /jobs, GET|DELETE /jobs/:id, POST /drain, GET /health. */
import { toVercelEdge } from '@tideq/edge/vercel';
import { handler } from '../../lib/handler.ts';

export const config = { runtime: 'edge' };

export default toVercelEdge(handler);
