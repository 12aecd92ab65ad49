/**
 * `protoloop/testing`: helpers for unit-testing protocols without sockets.
 *
 * @module
 */
export { createTransportPair, DEFAULT_CAPACITY, type TransportPairOptions } from './pair.js';
