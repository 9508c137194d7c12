//! The threaded order of a mailbox: threads newest first (by their newest message), each as a
//! tree by In-Reply-To in date order, with the depth of every message. Pure: the store hands in
//! the skeleton of the mailbox (ids, thread ids, dates, message ids), this returns the rows.

use std::collections::HashMap;

use super::MsgId;

/// What the threaded order needs of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkeletonRow {
    pub id: MsgId,
    /// The cache's thread id (messages joined by References / In-Reply-To).
    pub thread: i64,
    pub date: i64,
    pub message_id: Option<String>,
    pub in_reply_to: Option<String>,
}

/// One row of the threaded list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadRow {
    pub id: MsgId,
    pub thread: i64,
    /// 0 for a thread's roots; a reply is one deeper than what it answers.
    pub depth: u16,
    /// The first row of its thread (the one left when the thread is folded).
    pub head: bool,
    /// Messages in the thread (in this mailbox).
    pub size: u32,
}

/// Order a mailbox's messages by thread. Never loops on hostile data: a reply cycle or a
/// message answering itself puts the rest at the root level.
pub fn order(rows: &[SkeletonRow]) -> Vec<ThreadRow> {
    let mut groups: HashMap<i64, Vec<usize>> = HashMap::new();
    for (i, r) in rows.iter().enumerate() {
        groups.entry(r.thread).or_default().push(i);
    }
    let by_date =
        |a: &usize, b: &usize| (rows[*a].date, rows[*a].id).cmp(&(rows[*b].date, rows[*b].id));
    let mut threads: Vec<(i64, i64, Vec<usize>)> = groups
        .into_iter()
        .map(|(thread, mut members)| {
            members.sort_by(by_date);
            let newest = members.last().map_or(i64::MIN, |m| rows[*m].date);
            (newest, thread, members)
        })
        .collect();
    // Newest thread first; ties by thread id so the order is stable.
    threads.sort_by_key(|t| std::cmp::Reverse((t.0, t.1)));

    let mut out = Vec::with_capacity(rows.len());
    for (_, thread, members) in threads {
        let size = members.len() as u32;
        let by_msgid: HashMap<&str, usize> = members
            .iter()
            .filter_map(|m| rows[*m].message_id.as_deref().map(|id| (id, *m)))
            .collect();
        let mut children: HashMap<usize, Vec<usize>> = HashMap::new();
        let mut roots = Vec::new();
        for m in &members {
            let parent = rows[*m]
                .in_reply_to
                .as_deref()
                .and_then(|p| by_msgid.get(p))
                .filter(|p| *p != m);
            match parent {
                Some(p) => children.entry(*p).or_default().push(*m),
                None => roots.push(*m),
            }
        }
        // Members are in date order, so each child list is too.
        let mut visited = vec![false; members.len()];
        let index_of: HashMap<usize, usize> =
            members.iter().enumerate().map(|(i, m)| (*m, i)).collect();
        let mut emit = |start: usize, out: &mut Vec<ThreadRow>| {
            let mut stack = vec![(start, 0u16)];
            while let Some((m, depth)) = stack.pop() {
                let seen = &mut visited[index_of[&m]];
                if *seen {
                    continue;
                }
                *seen = true;
                out.push(ThreadRow {
                    id: rows[m].id,
                    thread,
                    depth,
                    head: false,
                    size,
                });
                if let Some(kids) = children.get(&m) {
                    for k in kids.iter().rev() {
                        stack.push((*k, depth.saturating_add(1)));
                    }
                }
            }
        };
        let first = out.len();
        for r in &roots {
            emit(*r, &mut out);
        }
        // Members only reachable through a cycle.
        for m in &members {
            emit(*m, &mut out);
        }
        if let Some(h) = out.get_mut(first) {
            h.head = true;
        }
    }
    out
}

/// The rows left on screen when the threads in `folded` show only their head.
pub fn visible(rows: &[ThreadRow], folded: &std::collections::BTreeSet<i64>) -> Vec<ThreadRow> {
    rows.iter()
        .filter(|r| r.head || !folded.contains(&r.thread))
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, thread: i64, date: i64, mid: &str, irt: Option<&str>) -> SkeletonRow {
        SkeletonRow {
            id: MsgId(id),
            thread,
            date,
            message_id: Some(mid.to_string()),
            in_reply_to: irt.map(str::to_string),
        }
    }

    fn shape(rows: &[ThreadRow]) -> Vec<(i64, u16, bool)> {
        rows.iter().map(|r| (r.id.0, r.depth, r.head)).collect()
    }

    #[test]
    fn threads_newest_first_each_a_tree_in_date_order() {
        let rows = vec![
            row(1, 1, 100, "a", None),
            row(2, 1, 200, "b", Some("a")),
            row(3, 3, 150, "c", None),
            row(4, 1, 300, "d", Some("a")),
            row(5, 1, 400, "e", Some("b")),
        ];
        let out = order(&rows);
        // Thread 1 (newest 400) before thread 3 (150); a's replies b (with e under it) then d.
        assert_eq!(
            shape(&out),
            [
                (1, 0, true),
                (2, 1, false),
                (5, 2, false),
                (4, 1, false),
                (3, 0, true)
            ]
        );
        assert_eq!(out[0].size, 4);
        assert_eq!(out[4].size, 1);
    }

    #[test]
    fn a_parent_outside_the_mailbox_leaves_replies_at_the_root() {
        let rows = vec![
            row(7, 5, 10, "x", Some("gone")),
            row(8, 5, 20, "y", Some("gone")),
        ];
        assert_eq!(shape(&order(&rows)), [(7, 0, true), (8, 0, false)]);
    }

    #[test]
    fn reply_cycles_and_self_replies_do_not_hang_or_lose_rows() {
        let rows = vec![
            row(1, 1, 10, "a", Some("b")),
            row(2, 1, 20, "b", Some("a")),
            row(3, 1, 30, "c", Some("c")),
        ];
        let out = order(&rows);
        let mut ids: Vec<i64> = out.iter().map(|r| r.id.0).collect();
        ids.sort_unstable();
        assert_eq!(ids, [1, 2, 3]);
        assert_eq!(out.iter().filter(|r| r.head).count(), 1);
    }

    #[test]
    fn folding_keeps_only_the_head_of_a_thread() {
        let rows = vec![
            row(1, 1, 100, "a", None),
            row(2, 1, 200, "b", Some("a")),
            row(3, 3, 50, "c", None),
        ];
        let all = order(&rows);
        let folded = std::collections::BTreeSet::from([1]);
        assert_eq!(shape(&visible(&all, &folded)), [(1, 0, true), (3, 0, true)]);
        assert_eq!(visible(&all, &Default::default()).len(), 3);
    }
}
