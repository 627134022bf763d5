//! Composing a response's bytes, as a pure function of its state: the head
//! (once) through the h1 head encoder, with the framing `h1::decide`
//! gives, then body bytes through the response's body encoder.

use super::connection::HeadContext;
use super::date::DateCache;
use super::exchange::{BodyState, LinesFrom, RequestData, ResponsePhase, ResponseState};
use super::head_memo::HeadKey;
use super::status::reason_phrase;
use crate::h1::{
    decide, BodyEncoder, BodyKnown, Head, HeaderFacts, Outgoing, Overrun, Role, Short, StartLine,
};

/// What composing did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Composed {
    /// The bytes are in `out`.
    Done,
    /// They would pass the declared `Content-Length`: `out` and the
    /// response are as they were (a head composed for them is undone).
    Refused(Overrun),
    /// The body ended short of its `Content-Length`: the response is over
    /// as it is, and its connection is not reused.
    EndedShort(Short),
}

/// What the head needs besides the exchange: the connection's context, and
/// the `Date` value at `now` (looked up only when the user set none).
pub(crate) struct HeadInput<'a> {
    pub ctx: HeadContext,
    pub date: &'a mut DateCache,
    pub now: u64,
}

/// One exchange's parts, as composing needs them.
pub(crate) struct Parts<'a> {
    pub req: &'a RequestData,
    pub body: &'a BodyState,
    pub res: &'a mut ResponseState,
}

/// Appends to `out` the head (when `head` is given: it is not sent yet),
/// then `data` framed, then the body's end if `last`. `then` bytes that
/// the caller queues right after, uncopied (`send_shared`), are checked
/// against the `Content-Length` with `data`, so a refusal sends nothing,
/// not even the head.
pub(crate) fn compose(
    mut p: Parts<'_>,
    data: &[u8],
    then: usize,
    last: bool,
    head: Option<HeadInput<'_>>,
    out: &mut Vec<u8>,
) -> Composed {
    let before = out.len();
    let keep_alive = p.res.keep_alive;
    let composing_head = head.is_some();
    if let Some(head) = head {
        let known = if last {
            BodyKnown::Whole(data.len() as u64)
        } else {
            BodyKnown::Streaming
        };
        write_head(&mut p, known, head, out);
    }
    let ResponsePhase::Body(enc) = &mut p.res.phase else {
        return Composed::Done;
    };
    if let Err(over) = enc.check(data.len() + then) {
        // Nothing of it goes out (not even a head composed for it).
        out.truncate(before);
        if composing_head {
            p.res.phase = ResponsePhase::Head;
            p.res.keep_alive = keep_alive;
            // The head kept for these lines was never sent, and the lines
            // may change now: the memo would no longer be of the record's
            // last response.
            p.res.memo.forget();
        }
        return Composed::Refused(over);
    }
    enc.encode(data, out);
    if !last {
        return Composed::Done;
    }
    match enc.finish(&p.res.trailers, out) {
        Ok(()) => {
            p.res.phase = ResponsePhase::Finished;
            Composed::Done
        }
        Err(short) => {
            // The client would wait for the rest, or read the next
            // response as this one's body: this connection ends here.
            p.res.phase = ResponsePhase::Short;
            p.res.keep_alive = false;
            Composed::EndedShort(short)
        }
    }
}

/// The status line and headers, with the framing and connection headers
/// eddy adds (user headers first, in the order they were set).
fn write_head(p: &mut Parts<'_>, known: BodyKnown, head: HeadInput<'_>, out: &mut Vec<u8>) {
    let (req, res) = (p.req, &mut *p.res);
    let facts = HeaderFacts::of(&res.headers);
    // A final status without the 100 the client waits for: the client may
    // or may not send the body, so the connection cannot be reused.
    let unread_expected_body = req.expects_continue && !res.continue_sent && !p.body.complete;
    // The whole response is known now and the body is not read: one
    // longer than the drain bound will close the connection (say so).
    let undrainable_body = known != BodyKnown::Streaming
        && !p.body.complete
        && req
            .unread_body(p.body.received)
            .is_some_and(|n| n > head.ctx.max_drain);
    let decision = decide(&Outgoing {
        role: Role::Server,
        method: req.method.as_str().as_bytes(),
        status: res.status,
        version: req.version,
        headers: &facts,
        body: known,
        keep_alive: req.keep_alive
            && !unread_expected_body
            && !undrainable_body
            && !head.ctx.closing
            && head.ctx.keep_alive_secs.is_some(),
    });
    // The `Date` eddy adds (none if the user set one), current to the second.
    let date_second = (!facts.has_date).then(|| {
        head.date.get(head.now);
        head.date.second()
    });
    // A head with the standard reason phrase can be kept, and copied when
    // the same lines come back with the same rest.
    let key = res.reason.is_none().then_some(HeadKey {
        status: res.status,
        decision,
        keep_alive_secs: head.ctx.keep_alive_secs,
        date_second,
    });
    let kept = match (res.lines_from, &key) {
        (LinesFrom::TakenBack, Some(key)) => res.memo.get(key),
        _ => None,
    };
    match kept {
        Some(bytes) => out.extend_from_slice(bytes),
        None => {
            let start = out.len();
            Head {
                start: StartLine::Status {
                    status: res.status,
                    reason: res
                        .reason
                        .as_deref()
                        .unwrap_or(reason_phrase(res.status).as_bytes()),
                },
                headers: &res.headers,
                facts: &facts,
                decision: &decision,
                extra: b"",
                date: date_second.map(|_| head.date.text().as_bytes()),
                keep_alive_secs: head.ctx.keep_alive_secs,
            }
            .encode(out);
            match key {
                Some(key) => res.memo.keep(key, &out[start..]),
                None => res.memo.forget(),
            }
        }
    }
    res.phase = ResponsePhase::Body(BodyEncoder::new(decision.framing));
    res.keep_alive = decision.keep_alive;
}
