//! Human output of a plan: summary, top actions, alerts and the channels that need attention,
//! as aligned plain-text tables that read well in a terminal and in `journalctl`.

use std::fmt::Write as _;

use super::{ChannelPlan, Plan};
use crate::escape::escape;

/// Column alignment in [`table`].
#[derive(Clone, Copy)]
enum Align {
    Left,
    Right,
}

/// Renders rows under headers with every column as wide as its widest cell; the last column is
/// never padded (it holds free text).
fn table(out: &mut String, headers: &[(&str, Align)], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|(h, _)| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |out: &mut String, cells: Vec<&str>| {
        out.push(' ');
        let last = cells.len().saturating_sub(1);
        for (i, cell) in cells.into_iter().enumerate() {
            let pad = widths[i].saturating_sub(cell.chars().count());
            out.push(' ');
            match headers[i].1 {
                _ if i == last => out.push_str(cell),
                Align::Left => {
                    out.push_str(cell);
                    out.push_str(&" ".repeat(pad));
                }
                Align::Right => {
                    out.push_str(&" ".repeat(pad));
                    out.push_str(cell);
                }
            }
        }
        // Trailing spaces only make diffs and copy-paste noisy.
        while out.ends_with(' ') {
            out.pop();
        }
        out.push('\n');
    };
    line(out, headers.iter().map(|(h, _)| *h).collect());
    for row in rows {
        line(out, row.iter().map(String::as_str).collect());
    }
}

/// `12345` → `"12,345"`: amounts in rationales and tables read at a glance.
///
/// A value that formats itself, so a message can use it without an intermediate string.
pub fn group_thousands(value: u64) -> Thousands {
    Thousands(value)
}

/// An amount written with `,` between groups of three digits (see [`group_thousands`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thousands(pub u64);

impl std::fmt::Display for Thousands {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // u64::MAX has 20 digits: 20 + 6 separators fit.
        let mut buf = [0u8; 26];
        let mut at = buf.len();
        let mut rest = self.0;
        let mut digits = 0;
        loop {
            if digits > 0 && digits % 3 == 0 {
                at -= 1;
                buf[at] = b',';
            }
            at -= 1;
            // `rest % 10` is a single digit, so the cast cannot truncate.
            buf[at] = b'0' + (rest % 10) as u8;
            digits += 1;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        // Only ASCII digits and commas were written.
        f.pad(std::str::from_utf8(&buf[at..]).unwrap_or_default())
    }
}

fn sat(v: u64) -> String {
    group_thousands(v).to_string()
}

fn percent(r: f64) -> String {
    format!("{:.1}%", r * 100.0)
}

/// How many alerts and channels the report lists; the rest are counted, so that the report of
/// a big node fits a terminal (`plan show --channel` shows any one channel in full).
pub const REPORT_LIST_LIMIT: usize = 15;

/// Width the report's prose is wrapped to, and alert messages in the table are cut to (the
/// plan file and `plan show --channel` have them whole). Command lines are never cut.
const PROSE_WIDTH: usize = 100;
const MESSAGE_WIDTH: usize = 90;

/// `text` cut to `width` characters, with `…` where it was cut.
fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut out: String = text.chars().take(width - 1).collect();
    out.push('…');
    out
}

/// `text` wrapped at word boundaries to `width` characters, the first line after `first`, the
/// others after `rest`.
fn wrap(out: &mut String, text: &str, first: &str, rest: &str, width: usize) {
    let mut line = String::new();
    let mut prefix = first;
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            let _ = writeln!(out, "{prefix}{line}");
            prefix = rest;
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    let _ = writeln!(out, "{prefix}{line}");
}

fn needs_attention(c: &ChannelPlan) -> bool {
    !c.health.issues.is_empty() || !c.recommendations.actions.is_empty()
}

/// The whole plan as text.
pub fn render_table(plan: &Plan) -> String {
    let mut out = String::new();
    let s = &plan.summary;
    let src = &plan.source;
    let node = if src.node_alias.is_empty() {
        src.node_pubkey.clone()
    } else {
        format!("{} ({})", escape(&src.node_alias), src.node_pubkey)
    };
    let _ = writeln!(out, "dustwatch plan for {node}");
    let _ = writeln!(
        out,
        "  taken {} · block {} · from {} {}",
        plan.generated_at,
        src.block_height
            .map_or("unknown".to_string(), |h| h.to_string()),
        src.kind,
        src.detail
    );
    let limit_source = serde_json::to_value(src.exposure_limit.source)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "  fee-exposure limit {} sat ({limit_source}) · fitting value {} sat",
        sat(src.exposure_limit.max_fee_exposure_sat),
        sat(s.recommended_max_fee_exposure_sat)
    );

    out.push_str("\nSUMMARY\n");
    // Counted from the channels, so the counts are the list below for a plan of any version.
    let listed = plan.channels.iter().filter(|c| needs_attention(c)).count();
    let notes_only = plan
        .channels
        .iter()
        .filter(|c| !needs_attention(c) && !c.notes.is_empty())
        .count();
    let quiet = plan.channels.len() - listed - notes_only;
    let rows = [
        (
            "channels",
            format!(
                "{} ({} active): {listed} need attention (listed below), {notes_only} with notes only, \
                 {quiet} with nothing to say",
                s.total_channels, s.active_channels,
            ),
        ),
        (
            // The score's bands are not the attention list: a channel can score low with nothing
            // to do (an idle channel no close pays for) or well with an HTLC near expiry.
            "health score",
            format!(
                "average {:.2}: {} healthy, {} fair, {} poor by score (balance, dust and use; not the attention list)",
                s.average_health_score,
                s.channels_by_status.healthy,
                s.channels_by_status.attention_needed,
                s.channels_by_status.unhealthy,
            ),
        ),
        (
            "capacity",
            format!(
                "{} sat (local {}, remote {})",
                sat(s.total_capacity_sat),
                sat(s.total_local_balance_sat),
                sat(s.total_remote_balance_sat)
            ),
        ),
        (
            "dust",
            if s.total_dust_sat == 0 {
                "none trimmed now".to_string()
            } else {
                format!(
                    "{} sat ({} of capacity); the actions keep {} sat ({}) of it from miners",
                    sat(s.total_dust_sat),
                    percent(s.dust_ratio),
                    sat(s.estimated_recovery_sat),
                    percent(s.optimization_potential)
                )
            },
        ),
        (
            "highest exposure",
            match &s.highest_fee_exposure_chan_id {
                Some(c) => format!("{} sat on channel {c}", sat(s.highest_fee_exposure_sat)),
                None => "none".to_string(),
            },
        ),
        (
            "actions",
            format!(
                "{} recommended; changes: {} new, {} resolved, {} unchanged",
                s.recommended_actions,
                plan.changes.new.len(),
                plan.changes.resolved.len(),
                plan.changes.unchanged.len()
            ),
        ),
        (
            "alerts",
            format!("{} error, {} warn", s.alerts.error, s.alerts.warn),
        ),
        (
            "pending channels",
            format!(
                "{} opening, {} waiting close, {} force closing ({} sat in limbo)",
                s.pending_channels.opening,
                s.pending_channels.waiting_close,
                s.pending_channels.force_closing,
                sat(s.pending_channels.limbo_balance_sat)
            ),
        ),
    ];
    for (label, value) in rows {
        let _ = writeln!(out, "  {label:<17} {value}");
    }
    if let Some(why) = &s.flow_unknown {
        let _ = writeln!(out, "  {:<17} {why}", "flow");
    }
    let left_out = [
        (
            s.rebalance_actions_left_out,
            "rebalances beyond analysis.max_rebalance_actions",
        ),
        (
            s.actions_below_min_benefit,
            "actions worth less than analysis.min_action_benefit_sat",
        ),
    ];
    for (count, what) in left_out.iter().filter(|(count, _)| *count > 0) {
        let _ = writeln!(out, "  {:<17} {count} {what}", "left out");
    }

    out.push_str("\nTOP ACTIONS\n");
    if plan.priority_actions.is_empty() {
        out.push_str("  none\n");
    } else {
        let rows: Vec<Vec<String>> = plan
            .priority_actions
            .iter()
            .enumerate()
            .map(|(i, a)| {
                vec![
                    (i + 1).to_string(),
                    a.priority.to_string(),
                    a.implementation_priority.to_string(),
                    a.kind.as_str().to_string(),
                    a.chan_ids
                        .iter()
                        .map(|c| c.to_string())
                        .collect::<Vec<_>>()
                        .join(">"),
                    a.amount_sat.map_or("-".to_string(), sat),
                    sat(a.expected_cost_sat),
                    sat(a.expected_benefit_sat),
                    a.id.to_string(),
                ]
            })
            .collect();
        table(
            &mut out,
            &[
                ("#", Align::Right),
                ("PRIO", Align::Right),
                ("IMPL", Align::Right),
                ("KIND", Align::Left),
                ("CHANNELS", Align::Left),
                ("AMOUNT", Align::Right),
                ("COST", Align::Right),
                ("BENEFIT", Align::Right),
                ("ID", Align::Left),
            ],
            &rows,
        );
        out.push('\n');
        for (i, a) in plan.priority_actions.iter().enumerate() {
            let text = a.text();
            let number = format!("  {}. ", i + 1);
            wrap(&mut out, &text.rationale, &number, "     ", PROSE_WIDTH);
            if let Some(c) = text.commands.first() {
                let _ = writeln!(out, "     $ {}", c.line);
            } else if let Some(note) = &text.lnd_note {
                let _ = writeln!(out, "     ({note})");
            }
        }
    }

    out.push_str("\nALERTS\n");
    if plan.alerts.is_empty() {
        out.push_str("  none\n");
    } else {
        let rows: Vec<Vec<String>> = plan
            .alerts
            .iter()
            .take(REPORT_LIST_LIMIT)
            .map(|a| {
                vec![
                    a.severity.as_str().to_uppercase(),
                    a.code.as_str().to_string(),
                    a.chan_id.map_or_else(|| "-".to_string(), |c| c.to_string()),
                    cut(&a.message.to_string(), MESSAGE_WIDTH),
                ]
            })
            .collect();
        table(
            &mut out,
            &[
                ("SEVERITY", Align::Left),
                ("CODE", Align::Left),
                ("CHANNEL", Align::Left),
                ("MESSAGE", Align::Left),
            ],
            &rows,
        );
        let more = plan.alerts.len().saturating_sub(REPORT_LIST_LIMIT);
        if more > 0 {
            let _ = writeln!(
                out,
                "  … and {more} more alerts (the plan file lists them all)"
            );
        }
    }

    out.push_str("\nCHANNELS NEEDING ATTENTION\n");
    // Most urgent first: implementation priority, then lowest score, then channel order
    // (the sort is stable and channels are in id order).
    let mut attention: Vec<&ChannelPlan> = plan
        .channels
        .iter()
        .filter(|c| needs_attention(c))
        .collect();
    attention.sort_by(|a, b| {
        b.recommendations
            .implementation_priority
            .cmp(&a.recommendations.implementation_priority)
            .then(a.health.health_score.total_cmp(&b.health.health_score))
    });
    if attention.is_empty() {
        out.push_str("  none\n");
    } else {
        let rows: Vec<Vec<String>> = attention
            .iter()
            .take(REPORT_LIST_LIMIT)
            .map(|c| {
                let exposure = c
                    .dust
                    .local_commitment
                    .fee_exposure_sat
                    .max(c.dust.remote_commitment.fee_exposure_sat);
                // What puts the channel on the list: its issues, then its actions' kinds.
                let issues: Vec<&str> = c.health.issues.iter().map(|i| i.as_str()).collect();
                let mut kinds: Vec<&str> = c
                    .recommendations
                    .actions
                    .iter()
                    .map(|a| a.kind.as_str())
                    .collect();
                kinds.dedup();
                let reasons = match (issues.is_empty(), kinds.is_empty()) {
                    (_, true) => issues.join(", "),
                    (true, false) => format!("actions: {}", kinds.join(", ")),
                    (false, false) => {
                        format!("{}; actions: {}", issues.join(", "), kinds.join(", "))
                    }
                };
                vec![
                    c.chan_id.to_string(),
                    if c.peer_alias.is_empty() {
                        "-".to_string()
                    } else {
                        escape(&c.peer_alias).into_owned()
                    },
                    format!("{:.2}", c.health.health_score),
                    sat(c.capacity_sat),
                    percent(c.health.local_ratio),
                    sat(c.recommendations.dust_at_stake_sat),
                    format!("{} ({})", sat(exposure), percent(c.dust.exposure_ratio)),
                    c.recommendations.implementation_priority.to_string(),
                    reasons,
                ]
            })
            .collect();
        table(
            &mut out,
            &[
                ("CHANNEL", Align::Left),
                ("PEER", Align::Left),
                ("SCORE", Align::Right),
                ("CAPACITY", Align::Right),
                ("LOCAL", Align::Right),
                ("DUST", Align::Right),
                ("EXPOSURE", Align::Right),
                ("IMPL", Align::Right),
                ("ISSUES AND ACTIONS", Align::Left),
            ],
            &rows,
        );
        let more = attention.len().saturating_sub(REPORT_LIST_LIMIT);
        if more > 0 {
            let _ = writeln!(
                out,
                "  … and {more} more channels needing attention (`dustwatch plan show --channel ID`)"
            );
        }
    }
    if notes_only > 0 {
        let _ = writeln!(
            out,
            "  {notes_only} channels with notes only, nothing pays yet (`dustwatch plan show --channel ID`)"
        );
    }
    if quiet > 0 {
        let _ = writeln!(out, "  {quiet} channels with nothing to say");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        let text = |v: u64| group_thousands(v).to_string();
        assert_eq!(text(0), "0");
        assert_eq!(text(999), "999");
        assert_eq!(text(1_000), "1,000");
        assert_eq!(text(100_000), "100,000");
        assert_eq!(text(12_345_678), "12,345,678");
        assert_eq!(text(u64::MAX), "18,446,744,073,709,551,615");
        // Width and alignment apply to the grouped text, as they did to a string.
        assert_eq!(format!("[{:>7}]", group_thousands(1_234)), "[  1,234]");
        assert_eq!(format!("[{:<7}]", group_thousands(1_234)), "[1,234  ]");
    }

    #[test]
    fn prose_wraps_at_words_and_messages_are_cut() {
        let mut out = String::new();
        wrap(&mut out, "one two three four five", "  1. ", "     ", 9);
        assert_eq!(out, "  1. one two\n     three\n     four five\n");
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
    }

    #[test]
    fn table_aligns_columns_and_trims_trailing_space() {
        let mut out = String::new();
        table(
            &mut out,
            &[
                ("A", Align::Left),
                ("NUM", Align::Right),
                ("TEXT", Align::Left),
            ],
            &[
                vec!["long-cell".into(), "7".into(), "x".into()],
                vec!["b".into(), "1,234".into(), String::new()],
            ],
        );
        assert_eq!(
            out,
            "  A           NUM TEXT\n  long-cell     7 x\n  b         1,234\n"
        );
    }
}
