import { NavLink, Outlet, useNavigate } from 'react-router';
import { signOut, type User } from '../api/client';

export function Layout({ user }: { user: User }) {
  const navigate = useNavigate();
  return (
    <div className="shell">
      <header className="topbar">
        <span className="brand">Chronos</span>
        <nav aria-label="Main">
          <NavLink to="/" end>
            Overview
          </NavLink>
          <NavLink to="/jobs">Jobs</NavLink>
          <NavLink to="/dead-letters">Dead letters</NavLink>
          {user.role === 'admin' && (
            <>
              <NavLink to="/admin/read-models">Read models</NavLink>
              <NavLink to="/admin/users">Users</NavLink>
            </>
          )}
        </nav>
        <span className="who">
          {user.name ?? user.email}
          {user.role === 'admin' && <span className="role"> (admin)</span>}
        </span>
        <button
          type="button"
          onClick={() => {
            void signOut().then(() => navigate('/sign-in'));
          }}
        >
          Sign out
        </button>
      </header>
      <main>
        <Outlet />
      </main>
    </div>
  );
}
