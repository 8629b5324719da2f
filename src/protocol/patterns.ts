/** Character allowlists shared by the SDK and the server. */
export const SEGMENT_ID = /^[A-Za-z0-9_.:-]{1,64}$/;
export const UID = /^[A-Za-z0-9_-]{8,64}$/;
/** Publisher site ids (request `site`). */
export const SITE = /^[A-Za-z0-9_.:-]{1,64}$/;
/** Event ids (request `events[].id`): random per event, a UUID from the SDK; a little wider for other encodings. */
export const EVENT_ID = /^[A-Za-z0-9_.:+/=-]{1,128}$/;
