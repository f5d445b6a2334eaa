/** The only door to quinn: everything else imports from here, never from the native layer. */
export { QuicListener, QuicDialer, type EndpointIdentity, type DialOptions } from './endpoint.js'
export { QuicConnection } from './connection.js'
export { QuicStream, classifyStreamError } from './stream.js'
export { DEFAULT_TRANSPORT_OPTIONS, PEER_TRANSPORT_OPTIONS, type TransportOptions } from './options.js'
export { loadNative, useDefaultQuicThreads } from './native.js'
