/** Character allowlists shared by the SDK and the server. */
export const SEGMENT_ID = /^[A-Za-z0-9_.:-]{1,64}$/;
export const UID = /^[A-Za-z0-9_-]{8,64}$/;
