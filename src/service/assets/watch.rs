//! Following an asset until its processing settles.

use std::time::Duration;

use futures_util::{StreamExt, stream, stream::BoxStream};
use tokio::sync::broadcast;
use tracing::instrument;
use uuid::Uuid;

use super::AssetService;
use crate::{
    domain::{Asset, AssetDetails, AssetStatus, Permission, Principal},
    error::{Error, Result},
    service::AssetEvent,
};

impl AssetService {
    /// The asset now, then again at each status change, ending once it is
    /// `ready` or `failed`. Changes made in this process arrive at once with
    /// the asset as it was then; other instances' are seen by polling.
    #[instrument(skip_all, fields(asset_id = %id))]
    pub async fn watch(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<BoxStream<'static, Result<AssetDetails>>> {
        principal.require(Permission::AssetsRead)?;
        let events = self.events.subscribe();
        let first = self.details(self.load(id).await?).await?;
        let id = first.asset.id;
        // Updates are made after this call returns: links keep the caller's origin.
        let origin = crate::storage::request_origin();
        let state = WatchState {
            service: self.clone(),
            events,
            last: first.asset.status,
            finished: first.asset.status.is_settled(),
            origin,
        };
        let rest = stream::unfold(state, move |mut state| async move {
            if state.finished {
                return None;
            }
            let asset = state.next_change(id).await;
            state.finished = asset.as_ref().map_or(true, |a| a.status.is_settled());
            let details = match asset {
                Ok(asset) => {
                    let details = state.service.details(asset);
                    crate::storage::with_request_origin(state.origin.clone(), details).await
                }
                Err(err) => Err(err),
            };
            Some((details, state))
        });
        Ok(stream::once(async move { Ok(first) }).chain(rest).boxed())
    }
}

struct WatchState {
    service: AssetService,
    events: broadcast::Receiver<AssetEvent>,
    last: AssetStatus,
    finished: bool,
    /// The watcher's request origin, for the links in each update.
    origin: Option<std::sync::Arc<str>>,
}

/// How often a watch re-reads the asset to see other instances' changes.
const WATCH_POLL: Duration = Duration::from_secs(1);

impl WatchState {
    /// Waits for the asset's next status change.
    async fn next_change(&mut self, id: Uuid) -> Result<Asset> {
        loop {
            let seen = tokio::select! {
                event = self.events.recv() => match event {
                    Ok(AssetEvent { id: changed, .. }) if changed != id => continue,
                    Ok(AssetEvent { asset: Some(asset), .. }) => Some(asset),
                    Ok(AssetEvent { asset: None, .. }) => return Err(Error::AssetNotFound(id.to_string())),
                    Err(broadcast::error::RecvError::Lagged(_)) => None,
                    Err(broadcast::error::RecvError::Closed) => return Err(Error::internal("watch", "event channel closed")),
                },
                () = tokio::time::sleep(WATCH_POLL) => None,
            };
            let asset = match seen {
                Some(asset) => asset,
                None => self
                    .service
                    .db
                    .get_asset(id)
                    .await?
                    .ok_or_else(|| Error::AssetNotFound(id.to_string()))?,
            };
            if asset.status != self.last {
                self.last = asset.status;
                return Ok(self.service.present(asset).await);
            }
        }
    }
}
