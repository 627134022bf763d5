//! The parser's view of a client connection: a `parser::Handler` (in
//! response mode) that builds the response, handles 1xx answers, decides
//! when a body is skipped (HEAD) or the connection is handed off (CONNECT,
//! Upgrade), and delivers body bytes.
//!
//! It runs while the parser is out of the connection's state, so it holds
//! `&mut Loop` and calls user code directly; after each callback it checks
//! that the request still owns this connection.

use eddy_loop::Loop;

use super::conn::{self, ConnId};
use super::error::Error;
use super::output;
use super::request::{live, restore_cb, take_cb, ClientRequest, Information};
use super::response::ClientResponse;
use super::table::client;
use crate::parser::{Action, Handler, HeadersAction, Parser};
use crate::server::HeaderList;

/// Which hook a hand-off goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HandOff {
    Upgrade,
    Connect,
}

pub(crate) enum Outcome {
    /// More input is needed.
    Running,
    /// The final response was parsed to its end (the parser paused there).
    Complete {
        keep_alive: bool,
    },
    /// The rest of the connection belongs to the user.
    HandOff(HandOff),
    /// A callback ended the request or closed the connection.
    Gone,
    Failed(Error),
}

pub(crate) struct Feed<'a> {
    pub lp: &'a mut Loop,
    pub c: ConnId,
    pub r: ClientRequest,
    pub building: &'a mut HeaderList,
    pub reason: &'a mut Vec<u8>,
    pub outcome: Outcome,
}

/// `Keep-Alive: timeout=N` → N seconds in ms.
fn keep_alive_hint(headers: &HeaderList) -> Option<u64> {
    let v = headers.get("keep-alive")?;
    let v = std::str::from_utf8(v).ok()?;
    v.split(',').find_map(|part| {
        let (k, n) = part.split_once('=')?;
        if k.trim().eq_ignore_ascii_case("timeout") {
            n.trim().parse::<u64>().ok().map(|s| s.saturating_mul(1000))
        } else {
            None
        }
    })
}

impl Feed<'_> {
    /// Whether the request still runs on this connection.
    fn owned(&mut self) -> bool {
        let c = self.c;
        let ok = live(self.lp, self.r).is_ok_and(|st| st.conn == Some(c));
        if !ok {
            self.outcome = Outcome::Gone;
        }
        ok
    }

    fn act(&mut self) -> Action {
        match self.outcome {
            Outcome::Running => {
                if self.owned() {
                    Action::Continue
                } else {
                    Action::Error
                }
            }
            Outcome::Gone | Outcome::Failed(_) => Action::Error,
            _ => Action::Continue,
        }
    }

    fn fail(&mut self, reason: &'static str) -> HeadersAction {
        let what = live(self.lp, self.r)
            .map(|st| st.what())
            .unwrap_or_default();
        self.outcome = Outcome::Failed(Error::Protocol { what, reason });
        HeadersAction::Error
    }

    fn informational(&mut self, parser: &Parser) -> HeadersAction {
        let status = parser.status();
        let r = self.r;
        if status == 100 {
            if let Ok(st) = live(self.lp, r) {
                st.out.awaiting_continue = false;
            }
            output::flush(self.lp, r);
            if let Some(mut cb) = take_cb(self.lp, r, |c| &mut c.continue_) {
                cb(self.lp, r);
                restore_cb(self.lp, r, cb, |c| &mut c.continue_);
            }
        } else if let Some(mut cb) = take_cb(self.lp, r, |c| &mut c.information) {
            let info = Information {
                status,
                reason: String::from_utf8_lossy(self.reason).into_owned(),
                headers: self
                    .building
                    .iter()
                    .map(|(n, v)| {
                        (
                            String::from_utf8_lossy(n).into_owned(),
                            String::from_utf8_lossy(v).into_owned(),
                        )
                    })
                    .collect(),
            };
            cb(self.lp, r, info);
            restore_cb(self.lp, r, cb, |c| &mut c.information);
        }
        self.building.clear();
        if self.owned() {
            HeadersAction::SkipBody
        } else {
            HeadersAction::Error
        }
    }

    fn final_head(&mut self, parser: &Parser) -> HeadersAction {
        let status = parser.status();
        let (c, r) = (self.c, self.r);
        let Ok(st) = live(self.lp, r) else {
            self.outcome = Outcome::Gone;
            return HeadersAction::Error;
        };
        let connect = st.opts.method == "CONNECT" && (200..300).contains(&status);
        let upgrade = status == 101;
        if upgrade && !st.upgrade_requested {
            return self.fail("unexpected 101 Switching Protocols");
        }
        let skip = st.opts.method == "HEAD";
        if st.out.awaiting_continue {
            // Answered before `100 Continue`: the body is never sent, and
            // the server may still expect it, so the socket is not reused.
            st.out.awaiting_continue = false;
            st.out.body_dropped = true;
            st.out.body.clear();
            if let Some(cn) = conn::get(self.lp, c) {
                cn.reusable = false;
            }
        }
        // A recycled record: its cleared header list becomes the one the
        // connection builds the next message (the trailers) into.
        let mut res = client(self.lp).take_res();
        std::mem::swap(&mut res.headers, self.building);
        let hint = keep_alive_hint(&res.headers);
        res.status = status;
        res.reason.push_str(&String::from_utf8_lossy(self.reason));
        res.version = parser.version();
        if let Ok(st) = live(self.lp, r) {
            st.res = Some(res);
        }
        if let Some(cn) = conn::get(self.lp, c) {
            cn.keep_alive_hint_ms = hint;
        }
        if upgrade || connect {
            let kind = if upgrade {
                HandOff::Upgrade
            } else {
                HandOff::Connect
            };
            self.outcome = Outcome::HandOff(kind);
            return HeadersAction::Upgrade;
        }
        if let Some(cb) = take_cb(self.lp, r, |c| &mut c.response) {
            cb(self.lp, ClientResponse { req: r });
        }
        if !self.owned() {
            return HeadersAction::Error;
        }
        if skip {
            HeadersAction::SkipBody
        } else {
            HeadersAction::Proceed
        }
    }
}

impl Handler for Feed<'_> {
    fn on_message_begin(&mut self, _: &Parser) -> Action {
        if let Ok(st) = live(self.lp, self.r) {
            st.response_started = true;
            st.replay = None;
        }
        self.building.clear();
        self.reason.clear();
        Action::Continue
    }

    fn on_status(&mut self, data: &[u8]) {
        self.reason.extend_from_slice(data);
    }

    fn on_header_field(&mut self, data: &[u8]) {
        self.building.name_piece(data);
    }

    fn on_header_field_complete(&mut self, _: &Parser) -> Action {
        self.building.name_done();
        Action::Continue
    }

    fn on_header_value(&mut self, data: &[u8]) {
        self.building.value_piece(data);
    }

    fn on_header_value_complete(&mut self, _: &Parser) -> Action {
        self.building.value_done();
        Action::Continue
    }

    fn on_headers_complete(&mut self, parser: &Parser) -> HeadersAction {
        if !self.owned() {
            return HeadersAction::Error;
        }
        match parser.status() {
            100..=199 if parser.status() != 101 => self.informational(parser),
            _ => self.final_head(parser),
        }
    }

    fn on_body(&mut self, data: &[u8]) {
        if !matches!(self.outcome, Outcome::Running) {
            return;
        }
        let r = self.r;
        let Ok(st) = live(self.lp, r) else { return };
        let Some(res) = st.res.as_deref_mut() else {
            return;
        };
        if res.paused || !res.buffered.is_empty() {
            res.buffered.extend_from_slice(data);
            return;
        }
        let Some(mut cb) = res.on_data.take() else {
            return;
        };
        cb(self.lp, ClientResponse { req: r }, data);
        if let Ok(res) = super::response::res_mut(self.lp, r) {
            res.on_data.get_or_insert(cb);
        }
    }

    fn on_message_complete(&mut self, parser: &Parser) -> Action {
        let act = self.act();
        if act != Action::Continue || !matches!(self.outcome, Outcome::Running) {
            return act;
        }
        if (100..200).contains(&parser.status()) {
            return Action::Continue;
        }
        if let Ok(res) = super::response::res_mut(self.lp, self.r) {
            std::mem::swap(&mut res.trailers, self.building);
            res.parsed = true;
        }
        self.outcome = Outcome::Complete {
            keep_alive: parser.should_keep_alive(),
        };
        Action::Pause
    }
}
