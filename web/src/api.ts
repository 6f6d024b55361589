// The console's only way to tessera: grpc-web, with the signed-in user's token.

import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { AuthService, type Session as SessionMessage } from "./gen/tessera/v1/auth_pb";
import { AssetService } from "./gen/tessera/v1/assets_pb";
import { PublicAssetService } from "./gen/tessera/v1/public_assets_pb";
import { UploadService } from "./gen/tessera/v1/uploads_pb";

const STORAGE_KEY = "tessera.session";
/** Refresh this long before the access token runs out. */
const REFRESH_MARGIN_MS = 30_000;

export interface Session {
  accessToken: string;
  refreshToken: string;
  accessExpiresAt: number;
  username: string;
}

export function currentSession(): Session | null {
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    return stored ? (JSON.parse(stored) as Session) : null;
  } catch {
    return null;
  }
}

function store(session: SessionMessage | undefined): Session {
  if (!session) throw new ConnectError("the server answered without a session", Code.Internal);
  const stored: Session = {
    accessToken: session.accessToken,
    refreshToken: session.refreshToken,
    accessExpiresAt: session.accessTokenExpiresAtUtc
      ? timestampMs(session.accessTokenExpiresAtUtc)
      : Date.now() + 60_000,
    username: session.user?.username ?? "",
  };
  localStorage.setItem(STORAGE_KEY, JSON.stringify(stored));
  return stored;
}

const baseUrl = location.origin;
const anonymous = createGrpcWebTransport({ baseUrl });
const authClient = createClient(AuthService, anonymous);

let refreshing: Promise<Session | null> | null = null;

/** A valid access token, refreshed first when it is about to expire. */
async function accessToken(): Promise<string | null> {
  const session = currentSession();
  if (!session) return null;
  if (session.accessExpiresAt - Date.now() > REFRESH_MARGIN_MS) return session.accessToken;
  refreshing ??= authClient
    .refreshSession({ refreshToken: session.refreshToken })
    .then((answer) => store(answer.session))
    .catch(() => {
      localStorage.removeItem(STORAGE_KEY);
      return null;
    })
    .finally(() => {
      refreshing = null;
    });
  return (await refreshing)?.accessToken ?? null;
}

const bearer: Interceptor = (next) => async (request) => {
  const token = await accessToken();
  if (token) request.header.set("authorization", `Bearer ${token}`);
  try {
    return await next(request);
  } catch (error) {
    if (ConnectError.from(error).code === Code.Unauthenticated) {
      localStorage.removeItem(STORAGE_KEY);
      window.dispatchEvent(new Event("tessera:signed-out"));
    }
    throw error;
  }
};

const signedIn = createGrpcWebTransport({ baseUrl, interceptors: [bearer] });

export const assets = createClient(AssetService, signedIn);
export const uploads = createClient(UploadService, signedIn);
export const publicAssets = createClient(PublicAssetService, anonymous);

export async function signIn(username: string, password: string): Promise<Session> {
  const answer = await authClient.login({ username, password });
  return store(answer.session);
}

export async function signOut(): Promise<void> {
  const session = currentSession();
  localStorage.removeItem(STORAGE_KEY);
  if (session) {
    await authClient.logout({ refreshToken: session.refreshToken }).catch(() => undefined);
  }
}

/** What to tell a person about a failed call. */
export function describe(error: unknown): string {
  const failure = ConnectError.from(error);
  return failure.rawMessage || failure.message;
}

/** The bytes of an asset (or one of its derivatives) as an object URL. */
export async function contentUrl(id: string, derivativeKind?: string): Promise<string> {
  const parts: Uint8Array<ArrayBuffer>[] = [];
  let type = "application/octet-stream";
  for await (const message of assets.getAssetContent({ id, derivativeKind })) {
    if (message.payload.case === "info") type = message.payload.value.contentType;
    if (message.payload.case === "chunk") parts.push(new Uint8Array(message.payload.value));
  }
  return URL.createObjectURL(new Blob(parts, { type }));
}
