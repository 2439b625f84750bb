import { StrictMode, useEffect, useState, type ReactNode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter, Navigate, Route, Routes, useLocation } from 'react-router';
import { currentUser, onSessionChange, type User } from './api/client';
import { Layout } from './components/Layout';
import { ReadModels, Users } from './pages/Admin';
import { DeadLetters } from './pages/DeadLetters';
import { ExecutionPage } from './pages/ExecutionPage';
import { EditJob, NewJob } from './pages/JobForm';
import { JobPage } from './pages/JobPage';
import { Jobs } from './pages/Jobs';
import { Overview } from './pages/Overview';
import { Register, SignIn } from './pages/SignIn';
import './styles.css';

/** Signed out: every page but sign-in and registration sends there, and back to the page once signed in. */
function SignedIn() {
  const [user, setUser] = useState<User | undefined>(currentUser());
  const location = useLocation();
  useEffect(() => onSessionChange(setUser), []);
  if (!user) return <Navigate to={`/sign-in?next=${encodeURIComponent(location.pathname + location.search)}`} replace />;
  return <Layout user={user} />;
}

function AdminOnly({ children }: { children: ReactNode }) {
  return currentUser()?.role === 'admin' ? children : <p role="alert">This page is for admins.</p>;
}

function App() {
  return (
    <Routes>
      <Route path="/sign-in" element={<SignIn />} />
      <Route path="/register" element={<Register />} />
      <Route element={<SignedIn />}>
        <Route index element={<Overview />} />
        <Route path="jobs" element={<Jobs />} />
        <Route path="jobs/new" element={<NewJob />} />
        <Route path="jobs/:id" element={<JobPage />} />
        <Route path="jobs/:id/edit" element={<EditJob />} />
        <Route path="executions/:id" element={<ExecutionPage />} />
        <Route path="dead-letters" element={<DeadLetters />} />
        <Route path="admin/read-models" element={<AdminOnly><ReadModels /></AdminOnly>} />
        <Route path="admin/users" element={<AdminOnly><Users /></AdminOnly>} />
        <Route path="*" element={<p role="alert">No such page.</p>} />
      </Route>
    </Routes>
  );
}

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <BrowserRouter>
        <App />
      </BrowserRouter>
    </StrictMode>,
  );
}
