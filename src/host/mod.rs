//! Layer 3, what lab keeps on the host: the lab's state directory and its
//! lock, the record of what the lab made, the host's list of labs, the
//! rendered Vagrantfile and the lab's certificate authority.

pub mod networks;
pub mod pack;
pub mod record;
pub mod registry;
pub mod render;
pub mod state;
pub mod tls;
