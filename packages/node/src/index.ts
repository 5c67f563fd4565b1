export { TrackMate, type TrackMateEvents, type TrackMateOptions } from './client.js';
export { type DropReason, type DropReport, ERROR_CODES, type ErrorCode, TrackMateError } from './errors.js';
export {
  SIGNATURE_HEADER,
  signWebhookPayload,
  type VerifyWebhookOptions,
  verifyWebhookSignature,
} from './signature.js';
export type {
  AcceptedResponse,
  Address,
  CallOptions,
  GenericServerEvent,
  Identity,
  OrderInput,
  OrderPlacedEvent,
  ServerEvent,
  ServerIdentity,
  ServerOrderItem,
  ServerProfile,
} from './types.js';
