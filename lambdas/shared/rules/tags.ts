/** Tag values: bounded, printable, safe as metric dimension values and DynamoDB keys. */
export const TAG_VALUE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The cost tags every request carries. */
export interface Tags {
  applicationId: string;
  costCenter: string;
  environment: string;
}
