//! The previous cycle's [`channel_dust`] results, reused for channels whose inputs are equal.
//!
//! On a live node most channels do not change between two polls a minute apart, and
//! [`channel_dust`] is a pure function of the channel record, the block height and the
//! [`DustParams`]: a result remembered for equal inputs is the result, and cloning it costs
//! about a seventh of computing it. Two parts of a record change every poll without changing
//! its dust: `lifetime_secs` and `uptime_secs` (LND counts them up); the block height matters
//! only to a channel with pending HTLCs (their blocks to expiry).

use crate::model::{ChanId, Channel};

use super::{channel_dust, ChannelDust, DustParams};

/// What the last analysis computed per channel, with the inputs it came from.
#[derive(Debug, Default)]
pub struct DustMemo {
    /// The parameters every entry was computed with; `None` before the first cycle.
    params: Option<DustParams>,
    /// The block height the entries with pending HTLCs were computed at.
    block_height: Option<u32>,
    /// Sorted by `chan_id`, one per channel of the last snapshot.
    entries: Vec<Entry>,
    /// Channels whose result came from memory in the last [`DustMemo::remember`].
    reused: usize,
}

#[derive(Debug)]
struct Entry {
    channel: Channel,
    dust: ChannelDust,
}

impl DustMemo {
    /// [`channel_dust`] of `ch`: a clone of the remembered result when its inputs are equal to
    /// those it came from (`true`), computed otherwise (`false`).
    pub fn channel_dust(
        &self,
        ch: &Channel,
        block_height: Option<u32>,
        params: &DustParams,
    ) -> (ChannelDust, bool) {
        match self.remembered(ch, block_height, params) {
            Some(entry) => (entry.dust.clone(), true),
            None => (channel_dust(ch, block_height, params), false),
        }
    }

    fn remembered(
        &self,
        ch: &Channel,
        block_height: Option<u32>,
        params: &DustParams,
    ) -> Option<&Entry> {
        if self.params.as_ref() != Some(params) {
            return None;
        }
        let entry = &self.entries[self.position(ch.chan_id)?];
        let height_irrelevant = ch.pending_htlcs.is_empty();
        ((height_irrelevant || self.block_height == block_height)
            && same_dust_inputs(&entry.channel, ch))
        .then_some(entry)
    }

    fn position(&self, chan_id: ChanId) -> Option<usize> {
        self.entries
            .binary_search_by_key(&chan_id, |e| e.channel.chan_id)
            .ok()
    }

    /// Replaces the memory with this cycle's results: `channels` (sorted by `chan_id`, as a
    /// normalized snapshot keeps them) with `dust[i]` computed for `channels[i]` at
    /// `block_height` with `params`, and `reused[i]` saying it came from memory. A reused
    /// entry keeps its remembered record (equal in every input); the others are cloned.
    pub fn remember(
        &mut self,
        channels: &[Channel],
        dust: &[&ChannelDust],
        reused: &[bool],
        block_height: Option<u32>,
        params: &DustParams,
    ) {
        use rayon::prelude::*;
        let fresh: Vec<Option<Entry>> = channels
            .par_iter()
            .zip(dust.par_iter())
            .zip(reused.par_iter())
            .map(|((ch, dust), &reused)| {
                (!reused).then(|| Entry {
                    channel: ch.clone(),
                    dust: (*dust).clone(),
                })
            })
            .collect();
        let mut old: Vec<Option<Entry>> = std::mem::take(&mut self.entries)
            .into_iter()
            .map(Some)
            .collect();
        let mut next_old = 0;
        let mut entries = Vec::with_capacity(channels.len());
        for (i, (ch, fresh)) in channels.iter().zip(fresh).enumerate() {
            // Both lists are sorted by `chan_id`: a reused channel's remembered entry is found
            // walking forward (taken entries are behind).
            let remembered = fresh.is_none().then(|| {
                while old
                    .get(next_old)
                    .is_some_and(|e| e.as_ref().is_none_or(|e| e.channel.chan_id < ch.chan_id))
                {
                    next_old += 1;
                }
                old.get_mut(next_old)
                    .filter(|e| e.as_ref().is_some_and(|e| e.channel.chan_id == ch.chan_id))
                    .and_then(Option::take)
            });
            entries.push(match (fresh, remembered.flatten()) {
                (Some(entry), _) | (None, Some(entry)) => entry,
                // Not remembered after all (a caller's `reused` that memory did not give).
                (None, None) => Entry {
                    channel: ch.clone(),
                    dust: dust[i].clone(),
                },
            });
        }
        self.reused = reused.iter().filter(|&&r| r).count();
        self.entries = entries;
        self.block_height = block_height;
        self.params = Some(params.clone());
    }

    /// Channels whose result came from memory in the last cycle.
    pub fn reused(&self) -> usize {
        self.reused
    }

    /// Channels remembered.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Every input of [`channel_dust`] in the two records is equal: all fields but the two LND
/// counts up every second. Listed field by field, so a new field must be placed on one side.
fn same_dust_inputs(a: &Channel, b: &Channel) -> bool {
    let Channel {
        chan_id,
        channel_point,
        remote_pubkey,
        peer_alias,
        active,
        private,
        initiator,
        commitment_type,
        capacity_sat,
        local_balance_sat,
        remote_balance_sat,
        commit_fee_sat,
        commit_weight,
        fee_per_kw,
        unsettled_balance_sat,
        total_satoshis_sent,
        total_satoshis_received,
        num_updates,
        lifetime_secs: _,
        uptime_secs: _,
        local_chan_reserve_sat,
        remote_chan_reserve_sat,
        push_amount_sat,
        local_constraints,
        remote_constraints,
        pending_htlcs,
        local_policy,
        remote_policy,
    } = a;
    *chan_id == b.chan_id
        && *active == b.active
        && *private == b.private
        && *initiator == b.initiator
        && *commitment_type == b.commitment_type
        && *capacity_sat == b.capacity_sat
        && *local_balance_sat == b.local_balance_sat
        && *remote_balance_sat == b.remote_balance_sat
        && *commit_fee_sat == b.commit_fee_sat
        && *commit_weight == b.commit_weight
        && *fee_per_kw == b.fee_per_kw
        && *unsettled_balance_sat == b.unsettled_balance_sat
        && *total_satoshis_sent == b.total_satoshis_sent
        && *total_satoshis_received == b.total_satoshis_received
        && *num_updates == b.num_updates
        && *local_chan_reserve_sat == b.local_chan_reserve_sat
        && *remote_chan_reserve_sat == b.remote_chan_reserve_sat
        && *push_amount_sat == b.push_amount_sat
        && *local_constraints == b.local_constraints
        && *remote_constraints == b.remote_constraints
        && *local_policy == b.local_policy
        && *remote_policy == b.remote_policy
        && *pending_htlcs == b.pending_htlcs
        && *channel_point == b.channel_point
        && *remote_pubkey == b.remote_pubkey
        && *peer_alias == b.peer_alias
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{channel, htlc, settle_balances};

    /// One cycle through `memo`: each channel's result and whether memory gave it.
    fn cycle(
        memo: &mut DustMemo,
        channels: &[Channel],
        height: Option<u32>,
        params: &DustParams,
    ) -> Vec<(ChannelDust, bool)> {
        let out: Vec<_> = channels
            .iter()
            .map(|ch| memo.channel_dust(ch, height, params))
            .collect();
        for ((dust, _), ch) in out.iter().zip(channels) {
            assert_eq!(*dust, channel_dust(ch, height, params), "{}", ch.chan_id);
        }
        let dust: Vec<&ChannelDust> = out.iter().map(|(d, _)| d).collect();
        let reused: Vec<bool> = out.iter().map(|(_, r)| *r).collect();
        memo.remember(channels, &dust, &reused, height, params);
        out
    }

    fn reused(out: &[(ChannelDust, bool)]) -> Vec<bool> {
        out.iter().map(|(_, r)| *r).collect()
    }

    #[test]
    fn reuses_only_channels_whose_inputs_are_equal() {
        let params = DustParams::default();
        let mut busy = channel(2, 1_000_000, 400_000);
        busy.pending_htlcs = vec![htlc(0, true, 300, 1_100), htlc(1, false, 50_000, 1_200)];
        settle_balances(&mut busy);
        let mut channels = vec![
            channel(1, 1_000_000, 500_000),
            busy,
            channel(3, 2_000_000, 1),
        ];
        let mut memo = DustMemo::default();
        assert_eq!(
            reused(&cycle(&mut memo, &channels, Some(1_000), &params)),
            [false; 3]
        );
        assert_eq!(memo.len(), 3);

        // LND's counters moved, nothing else: all from memory.
        for ch in &mut channels {
            ch.lifetime_secs += 60;
            ch.uptime_secs += 60;
        }
        assert_eq!(
            reused(&cycle(&mut memo, &channels, Some(1_000), &params)),
            [true; 3]
        );
        assert_eq!(memo.reused(), 3);

        // A new block: only the channel with HTLCs depends on it. A balance moved on the third.
        channels[2].local_balance_sat -= 1;
        channels[2].remote_balance_sat += 1;
        let out = cycle(&mut memo, &channels, Some(1_001), &params);
        assert_eq!(reused(&out), [true, false, false]);
        assert_eq!(out[1].0.htlcs[0].blocks_to_expiry, Some(99));

        // The same again, then a channel gone and one new: the remembered ones still match.
        let out = cycle(&mut memo, &channels, Some(1_001), &params);
        assert_eq!(reused(&out), [true; 3]);
        channels.remove(0);
        channels.push(channel(4, 1_000_000, 10));
        assert_eq!(
            reused(&cycle(&mut memo, &channels, Some(1_001), &params)),
            [true, true, false]
        );

        // Other parameters (a reload, LND's limit changed): nothing from memory.
        let other = DustParams {
            max_fee_exposure_sat: params.max_fee_exposure_sat + 1,
            ..params.clone()
        };
        assert_eq!(
            reused(&cycle(&mut memo, &channels, Some(1_001), &other)),
            [false; 3]
        );
    }

    #[test]
    fn every_other_field_is_an_input() {
        let mut base = channel(1, 1_000_000, 500_000);
        base.pending_htlcs = vec![htlc(0, true, 300, 1_100)];
        let changes: [fn(&mut Channel); 6] = [
            |c| c.fee_per_kw += 1,
            |c| c.pending_htlcs[0].amount_sat += 1,
            |c| c.peer_alias = "other".into(),
            |c| c.commit_fee_sat += 1,
            |c| c.local_constraints = None,
            |c| c.active = false,
        ];
        assert!(same_dust_inputs(&base, &base.clone()));
        for (i, change) in changes.iter().enumerate() {
            let mut other = base.clone();
            change(&mut other);
            assert!(!same_dust_inputs(&base, &other), "change {i}");
        }
    }
}
