import { Link } from 'react-router';
import { EmptyState } from '../components/ui';

export function NotFoundPage() {
  return (
    <EmptyState title="Page not found" actions={<Link to="/" className="btn btn-primary">Go to the dashboard</Link>}>
      There is nothing at this address.
    </EmptyState>
  );
}
