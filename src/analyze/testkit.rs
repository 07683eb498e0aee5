//! The crate's test kit ([`crate::testkit`]) plus the analyzer's view of a built channel.

pub use crate::testkit::*;

use crate::model::{Channel, ForwardingFlow};
use crate::settings::AnalysisSettings;

use super::ChannelView;

/// A channel as the analyzer sees it with forwarding history, with default settings.
pub fn flow_view<'a>(
    ch: &'a Channel,
    block_height: Option<u32>,
    flow: &ForwardingFlow,
) -> ChannelView<'a> {
    ChannelView::with_flow(
        ch,
        block_height,
        &params(&AnalysisSettings::default()),
        &AnalysisSettings::default(),
        Some(flow),
    )
}

/// A channel as the analyzer sees it, with default settings.
pub fn view(ch: &Channel, block_height: Option<u32>) -> ChannelView<'_> {
    ChannelView::new(
        ch,
        block_height,
        &params(&AnalysisSettings::default()),
        &AnalysisSettings::default(),
    )
}
