/** HTTP delivery: the entrypoint, its request codec, the edge handoff, and request signatures. */
export { type HttpDelivery, type HttpDeliveryOptions, httpDelivery } from './deliver.js';
export { type HandoffJob, type HttpRequest, handoffRequest, httpRequestCodec } from './request.js';
export {
  SIGNATURE_HEADER,
  type SignedBody,
  type SignedMessage,
  type SigningKeys,
  signRequest,
  type VerifyOptions,
  verifySignature,
} from './signing.js';
