import { z } from 'zod';
import { ForbiddenError } from './errors.ts';
import { TAG_VALUE, type Tags } from './tags.ts';

/** What a caller may charge: cost centers, and optionally only some applications and environments. */
export interface Binding {
  costCenters: string[];
  /** Absent: any application. */
  applicationIds?: string[] | undefined;
  /** Absent: any configured environment. */
  environments?: string[] | undefined;
}

const tagList = z.array(z.string().regex(TAG_VALUE)).min(1);

/** An IAM principal bound to tags, from the config. */
export const callerSchema = z
  .object({
    /**
     * An IAM role or user ARN; a role also matches its assumed-role sessions, by account and
     * role name (a session ARN does not show the role's path).
     */
    principal: z
      .string()
      .regex(/^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]+$/, 'must be an IAM role or user ARN'),
    costCenters: tagList,
    applicationIds: tagList.optional(),
    environments: tagList.optional(),
  })
  .strict();

export type Caller = z.infer<typeof callerSchema>;

/**
 * Who called, as the gateway saw it: an IAM principal (SigV4), an API key (the authorizer's
 * context), or nobody (the local stack in open mode, where `openCallers` is set).
 */
export interface CallerIdentity {
  principal?: string | undefined;
  keyId?: string | undefined;
  /** The API key's binding, from the authorizer: comma-separated lists, `*` for any. */
  costCenters?: string | undefined;
  applicationIds?: string | undefined;
  environments?: string | undefined;
}

const list = (value: string | undefined): string[] | undefined =>
  !value || value === '*' ? undefined : value.split(',').filter(Boolean);

/** An assumed-role session ARN's role ARN (`arn:aws:sts::1:assumed-role/R/s` -> `arn:aws:iam::1:role/R`). */
export function roleOfSession(arn: string): string | undefined {
  const match = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/[^/]+$/.exec(arn);
  return match ? `arn:${match[1]}:iam::${match[2]}:role/${match[3]}` : undefined;
}

/**
 * A role's identity as its sessions show it: partition, account and role name. A session ARN
 * (`arn:aws:sts::1:assumed-role/R/s`) drops the role's path, so `role/team/R` and its sessions
 * share `aws:1:R`; undefined for anything that is not a role or a role session.
 */
function roleKey(arn: string): string | undefined {
  const role = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/(?:[^/]+\/)*([^/]+)$/.exec(arn);
  if (role) return `${role[1]}:${role[2]}:${role[3]}`;
  const session = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/[^/]+$/.exec(arn);
  return session ? `${session[1]}:${session[2]}:${session[3]}` : undefined;
}

/** The binding of whoever called, or undefined when they are bound to nothing. */
export function bindingOf(identity: CallerIdentity | undefined, callers: Caller[]): Binding | undefined {
  if (identity?.keyId) {
    const costCenters = list(identity.costCenters);
    if (!costCenters) return undefined;
    return {
      costCenters,
      applicationIds: list(identity.applicationIds),
      environments: list(identity.environments),
    };
  }
  if (identity?.principal) {
    const principal = identity.principal;
    const exact = callers.find((c) => c.principal === principal);
    if (exact) return exact;
    // Only a session is matched by role name: a role ARN given as itself must match exactly.
    const role = roleOfSession(principal) ? roleKey(principal) : undefined;
    return role === undefined ? undefined : callers.find((c) => roleKey(c.principal) === role);
  }
  return undefined;
}

/**
 * Refuse tags the caller is not bound to (403 FORBIDDEN, before anything is reserved). With
 * `openCallers` (the local stack without authentication) an anonymous caller may use any tags;
 * everywhere else an unknown caller may use none.
 */
export function authorizeTags(
  identity: CallerIdentity | undefined,
  tags: Tags,
  callers: Caller[],
  openCallers: boolean,
): void {
  const anonymous = !identity?.keyId && !identity?.principal;
  if (anonymous && openCallers) return;
  const binding = bindingOf(identity, callers);
  if (!binding) throw new ForbiddenError('The caller is not bound to any cost center.');
  if (!binding.costCenters.includes(tags.costCenter)) {
    throw new ForbiddenError(`The caller may not charge cost center '${tags.costCenter}'.`);
  }
  if (binding.applicationIds && !binding.applicationIds.includes(tags.applicationId)) {
    throw new ForbiddenError(`The caller may not charge application '${tags.applicationId}'.`);
  }
  if (binding.environments && !binding.environments.includes(tags.environment)) {
    throw new ForbiddenError(`The caller may not use environment '${tags.environment}'.`);
  }
}

/**
 * Who called, as one stable ID: the API key, or the IAM role (not the session: a retry from
 * another session of the same role is the same caller).
 */
export function callerIdOf(caller: CallerIdentity | undefined): string | undefined {
  if (caller?.keyId) return `key:${caller.keyId}`;
  if (!caller?.principal) return undefined;
  return roleOfSession(caller.principal) ?? caller.principal;
}
