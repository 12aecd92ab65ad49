/**
 * `protoloop/testing`: helpers for unit-testing protocols without sockets.
 *
 * @module protoloop/testing
 */
export { createTransportPair, DEFAULT_CAPACITY, type TransportPairOptions } from './pair.js';
