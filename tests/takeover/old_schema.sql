-- The old identity service's schema (Better Auth 1.6 tables as Drizzle made them), as far as the
-- importer reads it: the column names and types of MIGRATION.md, RLS on the vault tables.
CREATE SCHEMA auth;

CREATE TABLE auth.users (
  id text PRIMARY KEY,
  name text NOT NULL,
  email text NOT NULL UNIQUE,
  email_verified boolean NOT NULL DEFAULT false,
  image text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  role text NOT NULL DEFAULT 'user',
  access_tier text NOT NULL DEFAULT 'public',
  kind text NOT NULL DEFAULT 'human',
  two_factor_enabled boolean DEFAULT false,
  deleted_at timestamptz,
  onboarding_completed_at timestamptz,
  feedback_show_real_name boolean NOT NULL DEFAULT false,
  feedback_karma integer NOT NULL DEFAULT 0
);

CREATE TABLE auth.accounts (
  id text PRIMARY KEY,
  account_id text NOT NULL,
  provider_id text NOT NULL,
  user_id text NOT NULL REFERENCES auth.users(id) ON DELETE CASCADE,
  password text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE auth.sessions (
  id text PRIMARY KEY,
  token text NOT NULL UNIQUE,
  user_id text NOT NULL REFERENCES auth.users(id) ON DELETE CASCADE,
  expires_at timestamptz NOT NULL,
  ip_address text,
  user_agent text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE auth.verification (
  id text PRIMARY KEY,
  identifier text NOT NULL,
  value text NOT NULL,
  expires_at timestamptz NOT NULL,
  created_at timestamptz DEFAULT now()
);

CREATE TABLE auth.jwks (
  id text PRIMARY KEY,
  public_key text NOT NULL,
  private_key text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE auth.two_factor_auth (
  id text PRIMARY KEY,
  user_id text NOT NULL REFERENCES auth.users(id) ON DELETE CASCADE,
  secret text NOT NULL,
  backup_codes text NOT NULL,
  enabled boolean NOT NULL DEFAULT false
);

CREATE TABLE auth.passkeys (
  id text PRIMARY KEY,
  name text,
  public_key text NOT NULL,
  user_id text NOT NULL REFERENCES auth.users(id) ON DELETE CASCADE,
  credential_id text NOT NULL,
  counter integer NOT NULL,
  device_type text NOT NULL,
  backed_up boolean NOT NULL,
  transports text,
  aaguid text,
  created_at timestamptz
);

CREATE TABLE auth.organizations (
  id text PRIMARY KEY,
  name text NOT NULL,
  slug text UNIQUE,
  logo text,
  metadata jsonb,
  created_at timestamptz NOT NULL
);

CREATE TABLE auth.members (
  id text PRIMARY KEY,
  organization_id text NOT NULL REFERENCES auth.organizations(id) ON DELETE CASCADE,
  user_id text NOT NULL,
  role text NOT NULL,
  created_at timestamptz NOT NULL
);

CREATE TABLE auth.invitations (
  id text PRIMARY KEY,
  organization_id text NOT NULL REFERENCES auth.organizations(id) ON DELETE CASCADE,
  email text NOT NULL,
  role text,
  status text NOT NULL,
  expires_at timestamptz NOT NULL,
  inviter_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE auth.api_keys (
  id text PRIMARY KEY,
  user_id text NOT NULL REFERENCES auth.users(id) ON DELETE CASCADE,
  name text NOT NULL,
  key_prefix text NOT NULL,
  key_hash text NOT NULL UNIQUE,
  scopes jsonb NOT NULL DEFAULT '[]',
  rate_limit_requests integer NOT NULL DEFAULT 60,
  rate_limit_window integer NOT NULL DEFAULT 60,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at timestamptz
);

CREATE TABLE auth.encryption_vaults (
  user_id text PRIMARY KEY REFERENCES auth.users(id) ON DELETE CASCADE,
  wrapped_mk text,
  wrap_iv text,
  format_version smallint NOT NULL DEFAULT 1,
  kek_id text,
  recovery_wrapped_mk text,
  recovery_iv text,
  recovery_format_version smallint,
  recovery_set_at timestamptz,
  zero_knowledge boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  rotated_at timestamptz
);

CREATE TABLE auth.encryption_vault_audit (
  id bigserial PRIMARY KEY,
  user_id text NOT NULL REFERENCES auth.users(id) ON DELETE CASCADE,
  action text NOT NULL,
  ip_address text,
  user_agent text,
  context jsonb,
  status integer NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE auth.encryption_vaults ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.encryption_vaults FORCE ROW LEVEL SECURITY;
CREATE POLICY vault_owner ON auth.encryption_vaults
  USING (user_id = current_setting('app.current_user_id', true))
  WITH CHECK (user_id = current_setting('app.current_user_id', true));
ALTER TABLE auth.encryption_vault_audit ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth.encryption_vault_audit FORCE ROW LEVEL SECURITY;
CREATE POLICY vault_audit_owner ON auth.encryption_vault_audit
  USING (user_id = current_setting('app.current_user_id', true))
  WITH CHECK (user_id = current_setting('app.current_user_id', true));

CREATE TABLE auth.user_settings (
  user_id text PRIMARY KEY REFERENCES auth.users(id) ON DELETE CASCADE,
  global_settings jsonb NOT NULL DEFAULT '{}',
  app_overrides jsonb NOT NULL DEFAULT '{}',
  device_settings jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE auth.security_events (
  id text PRIMARY KEY,
  user_id text REFERENCES auth.users(id) ON DELETE SET NULL,
  event_type text NOT NULL,
  ip_address text,
  user_agent text,
  metadata jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE auth.login_attempts (
  id text PRIMARY KEY,
  email text NOT NULL,
  ip_address text,
  successful boolean NOT NULL,
  attempted_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE auth.personas (
  user_id text PRIMARY KEY REFERENCES auth.users(id) ON DELETE CASCADE,
  archetype text NOT NULL,
  system_prompt text NOT NULL,
  module_mix jsonb NOT NULL DEFAULT '{}',
  tick_cadence text NOT NULL DEFAULT 'daily',
  last_active_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE auth.persona_actions (
  id text PRIMARY KEY,
  persona_id text NOT NULL REFERENCES auth.personas(user_id) ON DELETE CASCADE,
  tick_id text NOT NULL,
  tool_name text NOT NULL,
  input_hash text,
  result text NOT NULL,
  error_message text,
  latency_ms integer,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE auth.persona_feedback (
  id text PRIMARY KEY,
  persona_id text NOT NULL REFERENCES auth.personas(user_id) ON DELETE CASCADE,
  tick_id text NOT NULL,
  module text NOT NULL,
  rating smallint NOT NULL,
  notes text,
  created_at timestamptz NOT NULL DEFAULT now()
);
