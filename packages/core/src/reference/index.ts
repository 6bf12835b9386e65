export {
  createReferenceQueue,
  REFERENCE_SCHEMA_VERSION,
  type ReferenceQueueOptions,
  ReferenceRepository,
} from './reference-repository.js';
