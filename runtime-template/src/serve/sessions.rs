//! The MCP sessions connected now, so a reload can tell each one that a list changed
//! (`notifications/tools/list_changed` and the like). Closed ones are dropped as found.

use std::sync::Mutex;

use rmcp::service::{Peer, RoleServer};

use super::generation::Changes;

#[derive(Default)]
pub(super) struct Sessions {
    peers: Mutex<Vec<Peer<RoleServer>>>,
}

impl Sessions {
    /// A session that finished its initialization.
    pub(super) fn add(&self, peer: Peer<RoleServer>) {
        let mut peers = self.peers.lock().expect("sessions lock");
        peers.retain(|p| !p.is_transport_closed());
        peers.push(peer);
    }

    /// Sessions open now.
    pub(super) fn count(&self) -> usize {
        let mut peers = self.peers.lock().expect("sessions lock");
        peers.retain(|p| !p.is_transport_closed());
        peers.len()
    }

    /// Tells every open session what changed; a session that cannot take it is dropped.
    pub(super) async fn notify(&self, changes: Changes) {
        if changes == Changes::default() {
            return;
        }
        let peers: Vec<Peer<RoleServer>> = {
            let mut peers = self.peers.lock().expect("sessions lock");
            peers.retain(|p| !p.is_transport_closed());
            peers.clone()
        };
        for peer in peers {
            // each send is bounded: one stuck client must not hold the others' notifications
            let send = async {
                if changes.tools {
                    peer.notify_tool_list_changed().await?;
                }
                if changes.resources {
                    peer.notify_resource_list_changed().await?;
                }
                if changes.prompts {
                    peer.notify_prompt_list_changed().await?;
                }
                Ok::<(), rmcp::service::ServiceError>(())
            };
            let _ = tokio::time::timeout(std::time::Duration::from_secs(2), send).await;
        }
    }
}
