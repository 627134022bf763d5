//! A small JSON API on eddy: notes kept in memory. Bodies are gathered by
//! `Request::collect` (past 64 KiB the server answers 413 by itself).
//!
//!     cargo run --release --example api -- --port 8080
//!
//! - `GET /notes`: every note, as a JSON array;
//! - `POST /notes` with a JSON object: 201 and the note with its `id`;
//!   400 for a body that is not a JSON object;
//! - `GET /notes/ID`: the note, or 404;
//! - `DELETE /notes/ID`: 204, or 404.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use eddy::http::parser::Method;
use eddy::http::server::{Response, Server, ServerOptions};
use eddy::{Loop, RunMode};
use serde_json::{json, Value};

fn reply(lp: &mut Loop, res: Response, status: u16, body: Option<Value>) {
    let _ = res.write_head(lp, status, &[("Content-Type", "application/json")]);
    let _ = res.end(
        lp,
        body.map(|b| b.to_string()).unwrap_or_default().as_bytes(),
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let port = args
        .windows(2)
        .find(|w| w[0] == "--port")
        .map_or("8080", |w| &w[1]);
    // The next id and the notes by id: the one state the handlers share.
    let notes = Rc::new(RefCell::new((1u64, BTreeMap::<u64, Value>::new())));
    let not_found = || Some(json!({ "error": "not found" }));
    let mut lp = Loop::new()?;
    let server = Server::new(&mut lp, ServerOptions::default(), move |lp, req, res| {
        let path = req.path(lp).unwrap_or("/").to_string();
        let id = path
            .strip_prefix("/notes/")
            .and_then(|id| id.parse::<u64>().ok());
        match (req.method(lp), path.as_str(), id) {
            (Some(Method::Get), "/notes", _) => {
                let all: Vec<Value> = notes.borrow().1.values().cloned().collect();
                reply(lp, res, 200, Some(json!(all)))
            }
            (Some(Method::Post), "/notes", _) => {
                let notes = notes.clone();
                let _ = req.collect(lp, 64 * 1024, move |lp, _, body| {
                    // An error has been answered (413) or has no one to answer.
                    let Ok(body) = body else { return };
                    let Ok(Value::Object(mut note)) = serde_json::from_slice(&body) else {
                        return reply(lp, res, 400, Some(json!({ "error": "not an object" })));
                    };
                    let (next, all) = &mut *notes.borrow_mut();
                    note.insert("id".into(), json!(*next));
                    all.insert(*next, Value::Object(note.clone()));
                    *next += 1;
                    reply(lp, res, 201, Some(Value::Object(note)))
                });
            }
            (Some(Method::Get), _, Some(id)) => match notes.borrow().1.get(&id).cloned() {
                Some(note) => reply(lp, res, 200, Some(note)),
                None => reply(lp, res, 404, not_found()),
            },
            (Some(Method::Delete), _, Some(id)) => match notes.borrow_mut().1.remove(&id) {
                Some(_) => reply(lp, res, 204, None),
                None => reply(lp, res, 404, not_found()),
            },
            _ => reply(lp, res, 404, not_found()),
        }
    });
    let addr = server.listen(
        &mut lp,
        format!("127.0.0.1:{port}").parse::<std::net::SocketAddr>()?,
    )?;
    println!("api listening on http://{addr}");
    lp.run(RunMode::Default);
    Ok(())
}
