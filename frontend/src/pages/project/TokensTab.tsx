import { useMemo } from 'react';
import { api } from '../../api/endpoints';
import { canManage } from '../../lib/projects';
import { Notice } from '../../components/ui';
import { TokensPanel, type TokensApi } from '../../components/TokensPanel';
import { useProject } from './context';

/** A project's service tokens: owned by the project, not by a person. */
export function TokensTab() {
  const { project } = useProject();
  const tokens = useMemo<TokensApi>(
    () => ({
      list: () => api.listProjectTokens(project.id),
      create: (body) => api.createProjectToken(project.id, body),
      revoke: (id) => api.revokeProjectToken(project.id, id),
    }),
    [project.id],
  );
  if (!canManage(project.role)) return <Notice>Only owners and admins of the project manage its service tokens.</Notice>;
  return (
    <TokensPanel
      tokens={tokens}
      withRole
      title="Service tokens"
      intro="A service token belongs to this project, not to a person: it sees only this project, with its role and scopes, and keeps working when its maker leaves."
    />
  );
}
