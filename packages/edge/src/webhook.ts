/**
 * Signed webhooks: @tideq/core's HTTP delivery entrypoint with signing on by default. Each attempt
 * carries a fresh `tideq-signature` (HMAC-SHA256 over method, path, timestamp and body); receivers
 * check it with `verifySignature` from @tideq/core (current and next key, replay window).
 */
import { type HttpDelivery, type HttpDeliveryOptions, httpDelivery, InvalidArgumentError } from '@tideq/core';

/** {@link httpDelivery} options; `signing` is required: a key, or `false` to send unsigned on purpose. */
export interface WebhookOptions extends Omit<HttpDeliveryOptions, 'signing'> {
  signing: { key: string } | false;
}

/**
 * The webhook entrypoint for an edge handler's manager.
 *
 * @param options `signing: { key }` (at least 16 characters) plus any {@link HttpDeliveryOptions}
 * @example
 * manager: (store, env) => {
 *   const webhook = webhookDelivery({ signing: { key: env.WEBHOOK_KEY } });
 *   return new QueueManager(store).entrypoint('webhook', webhook.options, webhook.handler);
 * },
 */
export function webhookDelivery(options: WebhookOptions): HttpDelivery {
  if (options?.signing === undefined) {
    throw new InvalidArgumentError(
      'webhookDelivery signs every request: pass signing: { key } (or signing: false to send unsigned)',
    );
  }
  return httpDelivery(options);
}
