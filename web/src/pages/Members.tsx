/**
 * Settings → Members: who is in the workspace (owners change roles and remove people), and for owners
 * the invitations: invite by email and role, and the pending ones with resend and revoke. Nobody is
 * added without accepting; the page never says whether an address has an account. Each member's
 * Guardian role (alerting access) shows beside the workspace role: the default it maps to, or an
 * owner's override, which owners set or reset here.
 */
import { useState, type FormEvent } from 'react';
import { api, ApiError, errorMessage, fieldErrors, type Invitation, type Member, type Role } from '../api';
import { useMe, useSession } from '../session';
import { Alert, Badge, Field, formatDate, LoadedList, Spinner, useLoad } from '../ui';
import { guardianApi, type GuardianRole, type MemberGuardianRole } from './guardian/guardian-api';

export const ROLES: Role[] = ['owner', 'admin', 'member', 'viewer'];
const ROLE_HINTS: Record<Role, string> = {
  owner: 'Everything, including members and API keys.',
  admin: 'Everything except members and API keys.',
  member: 'Works with contacts, segments, campaigns and email.',
  viewer: 'Sees everything, changes nothing.',
};

export const GUARDIAN_ROLE_LABELS: Record<GuardianRole, string> = { guardian_admin: 'Guardian admin', analyst: 'Analyst', viewer: 'Viewer' };
const GUARDIAN_ROLE_HINTS: Record<GuardianRole, string> = {
  guardian_admin: 'edits alert rules and channels, handles alerts, reads delivery logs',
  analyst: 'acknowledges and resolves alerts, reads delivery logs',
  viewer: 'reads alerts only',
};
/** A member's Guardian role: a select for owners (default or an override), else the role with how it was set. */
function GuardianRoleCell({ member, role, canWrite, onChange }: { member: Member; role: MemberGuardianRole; canWrite: boolean; onChange: (role: GuardianRole | null) => void }) {
  const { guardianRole: effective, defaultRole: fallback, overridden } = role;
  if (!canWrite) {
    return (
      <span title={GUARDIAN_ROLE_HINTS[effective]}>
        {GUARDIAN_ROLE_LABELS[effective]} <span className="muted small">{overridden ? '(set by an owner)' : '(default)'}</span>
      </span>
    );
  }
  return (
    <select aria-label={`Guardian role for ${member.email}`} value={overridden ? effective : ''} onChange={(event) => onChange(event.target.value === '' ? null : (event.target.value as GuardianRole))}>
      <option value="">Default ({GUARDIAN_ROLE_LABELS[fallback]})</option>
      {(Object.keys(GUARDIAN_ROLE_LABELS) as GuardianRole[]).map((r) => (
        <option key={r} value={r}>
          {GUARDIAN_ROLE_LABELS[r]}
        </option>
      ))}
    </select>
  );
}

/** The role picker of the invitation form, with what the chosen role may do under it. */
function RoleSelect({ id, name }: { id: string; name: string }) {
  const [role, setRole] = useState<Role>('member');
  return (
    <div className="field">
      <label htmlFor={id}>Role</label>
      <select id={id} name={name} value={role} onChange={(event) => setRole(event.target.value as Role)} aria-describedby={`${id}-hint`}>
        {ROLES.map((r) => (
          <option key={r} value={r}>
            {r[0]!.toUpperCase() + r.slice(1)}
          </option>
        ))}
      </select>
      <p className="field-hint" id={`${id}-hint`}>
        {ROLE_HINTS[role]}
      </p>
    </div>
  );
}

function Invitations({ onChanged }: { onChanged: (notice: string) => void }) {
  const [loaded, reload] = useLoad(() => api.invitations.list(), []);
  const [error, setError] = useState<string>();
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);

  const invite = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const formElement = event.currentTarget;
    const form = new FormData(formElement);
    const email = String(form.get('email') ?? '').trim();
    const role = String(form.get('role')) as Role;
    if (email === '') {
      setErrors({ email: 'Enter the email address to invite' });
      return;
    }
    setBusy(true);
    setError(undefined);
    setErrors({});
    try {
      const invitation = await api.invitations.create({ email, role });
      formElement.reset();
      await reload();
      onChanged(`Invitation sent to ${invitation.email}. They join as ${invitation.role} once they accept.`);
    } catch (caught) {
      const byField = fieldErrors(caught);
      if (caught instanceof ApiError && (caught.code === 'ALREADY_MEMBER' || caught.code === 'INVITATION_EXISTS')) byField.email = caught.message;
      setErrors(byField);
      if (!byField.email) setError(errorMessage(caught));
    } finally {
      setBusy(false);
    }
  };

  const act = async (invitation: Invitation, action: 'resend' | 'revoke') => {
    if (action === 'revoke' && !window.confirm(`Revoke the invitation to ${invitation.email}? Its link stops working.`)) return;
    setError(undefined);
    try {
      if (action === 'resend') await api.invitations.resend(invitation.id);
      else await api.invitations.revoke(invitation.id);
      await reload();
      onChanged(action === 'resend' ? `A new invitation link was sent to ${invitation.email}.` : `The invitation to ${invitation.email} was revoked.`);
    } catch (caught) {
      setError(errorMessage(caught));
      await reload();
    }
  };

  return (
    <>
      <form className="stack" onSubmit={invite} aria-labelledby="invite-title" noValidate>
        <h3 id="invite-title">Invite member</h3>
        <p className="muted small">We email them a link that works once and expires in 7 days. They join after accepting, with their existing account or a new one.</p>
        {error ? <Alert>{error}</Alert> : null}
        <div className="grid-fields">
          <Field label="Email" name="email" id="invite-email" type="email" autoComplete="off" placeholder="name@company.com" error={errors.email} />
          <RoleSelect id="invite-role" name="role" />
        </div>
        <div className="row">
          <button type="submit" className="button primary" disabled={busy}>
            {busy ? 'Sending…' : 'Send invitation'}
          </button>
        </div>
      </form>
      <h3 id="pending-title">Pending invitations</h3>
      <LoadedList state={loaded} items={(data) => data.invitations} loadingLabel="Loading invitations…" empty={<p>No pending invitations. People you invite appear here until they accept.</p>}>
        {(data) => (
          <div className="table-wrap">
            <table className="table" aria-labelledby="pending-title">
              <thead>
                <tr>
                  <th scope="col">Email</th>
                  <th scope="col">Role</th>
                  <th scope="col" className="hide-narrow">
                    Invited by
                  </th>
                  <th scope="col">Expires</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {data.invitations.map((invitation) => (
                  <tr key={invitation.id}>
                    <td className="break">{invitation.email}</td>
                    <td>{invitation.role}</td>
                    <td className="hide-narrow">{invitation.invitedBy?.name ?? '—'}</td>
                    <td>{invitation.status === 'expired' ? <Badge tone="archived">expired</Badge> : formatDate(invitation.expiresAt)}</td>
                    <td className="actions">
                      <button type="button" className="button small" onClick={() => void act(invitation, 'resend')} aria-label={`Resend the invitation to ${invitation.email}`}>
                        Resend
                      </button>{' '}
                      <button type="button" className="button danger small" onClick={() => void act(invitation, 'revoke')} aria-label={`Revoke the invitation to ${invitation.email}`}>
                        Revoke
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </LoadedList>
    </>
  );
}

export function Members({ canWrite }: { canWrite: boolean }) {
  const me = useMe();
  const { refresh } = useSession();
  const [loaded, reload] = useLoad(() => api.members.list(), []);
  const [guardian, reloadGuardian] = useLoad(() => guardianApi.members(), []);
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const guardianRoles = new Map(guardian.status === 'ready' ? guardian.data.members.map((m) => [m.userId, m]) : []);

  const changeGuardianRole = async (member: Member, role: GuardianRole | null) => {
    setError(undefined);
    setNotice(undefined);
    try {
      const saved = await guardianApi.setMemberRole(member.userId, role);
      await reloadGuardian();
      const label = GUARDIAN_ROLE_LABELS[saved.guardianRole];
      setNotice(
        saved.overridden
          ? `${member.name} is now ${label} in Guardian: ${GUARDIAN_ROLE_HINTS[saved.guardianRole]}.`
          : `${member.name} is back to the default Guardian role of the ${member.role} role: ${label} (${GUARDIAN_ROLE_HINTS[saved.guardianRole]}).`,
      );
      if (member.userId === me.user?.id) await refresh();
    } catch (caught) {
      setError(errorMessage(caught));
      await reloadGuardian();
    }
  };

  const changeRole = async (member: Member, role: Role) => {
    setError(undefined);
    setNotice(undefined);
    try {
      await api.members.changeRole(member.userId, role);
      await Promise.all([reload(), reloadGuardian()]);
      setNotice(`${member.email} is now ${role}.`);
      if (member.userId === me.user?.id) await refresh();
    } catch (caught) {
      setError(errorMessage(caught));
      await reload();
    }
  };

  const remove = async (member: Member) => {
    if (!window.confirm(`Remove ${member.email} from ${me.workspace.name}?`)) return;
    setError(undefined);
    setNotice(undefined);
    try {
      await api.members.remove(member.userId);
      await reload();
      setNotice(`${member.email} was removed.`);
    } catch (caught) {
      setError(errorMessage(caught));
    }
  };

  return (
    <section className="panel stack" aria-labelledby="members-title">
      <h2 id="members-title">Members</h2>
      {error ? <Alert>{error}</Alert> : null}
      {notice ? <Alert kind="success">{notice}</Alert> : null}
      {loaded.status === 'loading' ? <Spinner /> : null}
      {loaded.status === 'error' ? <Alert>{loaded.message}</Alert> : null}
      {loaded.status === 'ready' ? (
        <div className="table-wrap">
          <table className="table" aria-label="Members">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Guardian role</th>
                <th scope="col" className="hide-narrow">
                  Joined
                </th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {loaded.data.members.map((member) => (
                <tr key={member.userId}>
                  <td>
                    {member.name}
                    {member.userId === me.user?.id ? <span className="muted small"> (you)</span> : null}
                  </td>
                  <td className="break">{member.email}</td>
                  <td>
                    {canWrite ? (
                      <select aria-label={`Role of ${member.email}`} value={member.role} onChange={(event) => void changeRole(member, event.target.value as Role)}>
                        {ROLES.map((role) => (
                          <option key={role} value={role}>
                            {role}
                          </option>
                        ))}
                      </select>
                    ) : (
                      member.role
                    )}
                  </td>
                  <td>
                    {guardianRoles.get(member.userId) ? (
                      <GuardianRoleCell member={member} role={guardianRoles.get(member.userId)!} canWrite={canWrite} onChange={(role) => void changeGuardianRole(member, role)} />
                    ) : (
                      <span className="muted small">{guardian.status === 'error' ? 'unavailable' : 'loading…'}</span>
                    )}
                  </td>
                  <td className="hide-narrow">{formatDate(member.joinedAt)}</td>
                  <td className="actions">
                    {canWrite && member.userId !== me.user?.id ? (
                      <button type="button" className="button danger small" onClick={() => void remove(member)} aria-label={`Remove ${member.email}`}>
                        Remove
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {canWrite ? (
        <Invitations
          onChanged={(message) => {
            setError(undefined);
            setNotice(message);
            void reload();
          }}
        />
      ) : null}
    </section>
  );
}
