import { useMemo } from 'react';
import { api } from '../api/endpoints';
import { PageHeader } from '../components/ui';
import { TokensPanel, type TokensApi } from '../components/TokensPanel';

/** Settings: my personal API tokens. */
export function TokensPage() {
  const tokens = useMemo<TokensApi>(
    () => ({ list: api.listTokens, create: (body) => api.createToken(body), revoke: api.revokeToken }),
    [],
  );
  return (
    <div>
      <PageHeader title="API tokens" subtitle="Personal tokens for scripts and CI" />
      <TokensPanel
        tokens={tokens}
        withRole={false}
        title="Personal tokens"
        intro="A personal token acts as you, limited to its scopes: it never has more than your role in each project."
      />
    </div>
  );
}
