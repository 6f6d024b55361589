-- Users as NekoHub has them: "active" rather than "enabled", the time of
-- the last login, and NekoHub's permission names.
ALTER TABLE users RENAME COLUMN is_enabled TO is_active;
ALTER TABLE users ADD COLUMN last_login_at BIGINT;

-- The user role's default shrank to assets.read: users who had the old
-- default keep what they could do, as permissions of their own.
UPDATE users SET permissions = '["assets.read","assets.create","assets.update","assets.delete"]'
    WHERE role = 'user' AND permissions IS NULL;

-- Each old name becomes the NekoHub names that cover what it allowed
-- (set-default needs settings.update, which storage.manage used to cover).
UPDATE users SET permissions = REPLACE(permissions, '"storage.manage"',
    '"providers.read","providers.create","providers.update","providers.delete","settings.read","settings.update"')
    WHERE permissions IS NOT NULL;
UPDATE users SET permissions = REPLACE(permissions, '"ai.manage"',
    '"aiProviders.read","aiProviders.create","aiProviders.update","aiProviders.delete"')
    WHERE permissions IS NOT NULL;
UPDATE users SET permissions = REPLACE(permissions, '"users.manage"',
    '"users.read","users.create","users.update","users.disable","users.managePermissions"')
    WHERE permissions IS NOT NULL;
UPDATE users SET permissions = REPLACE(permissions, '"apikeys.manage"', '"apiKeys.manage"')
    WHERE permissions IS NOT NULL;

UPDATE api_keys SET scopes = REPLACE(scopes, '"storage.manage"',
    '"providers.read","providers.create","providers.update","providers.delete","settings.read","settings.update"');
UPDATE api_keys SET scopes = REPLACE(scopes, '"ai.manage"',
    '"aiProviders.read","aiProviders.create","aiProviders.update","aiProviders.delete"');
UPDATE api_keys SET scopes = REPLACE(scopes, '"users.manage"',
    '"users.read","users.create","users.update","users.disable","users.managePermissions"');
UPDATE api_keys SET scopes = REPLACE(scopes, '"apikeys.manage"', '"apiKeys.manage"');
