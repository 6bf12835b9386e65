import { describe, expect, it } from 'vitest';
import { errorFromJSON, QueueFullError, TideqError } from '../src/errors.js';

describe('QUEUE_FULL', () => {
  it('has its HTTP status and survives the JSON round trip as its own class', () => {
    const error = new QueueFullError('the queue is full', { details: { budgetBytes: 1024 } });
    expect(error.code).toBe('QUEUE_FULL');
    expect(error.httpStatus).toBe(507);
    const revived = errorFromJSON(JSON.parse(JSON.stringify(error)));
    expect(revived).toBeInstanceOf(QueueFullError);
    expect(revived).toBeInstanceOf(TideqError);
    expect(revived.code).toBe('QUEUE_FULL');
    expect(revived.message).toBe('the queue is full');
    expect(revived.details).toEqual({ budgetBytes: 1024 });
  });
});
