//! The one driver every mode goes through: split the stream into documents, parse each, run
//! the patches over it (on all cores), check every changed document, and hand back the texts
//! to write. A KRM ResourceList is one document whose items are the resources; its config,
//! new items and results are added by `krm` through the same round of edits.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use crate::config::{Config, ConfigError};
use crate::error::{Error, InputError};
use crate::krm;
use crate::patch::{self, Change, NewDocument, Outcome, Patch, Report, StreamSummary};
use crate::policy::Policy;
use crate::resource::{self, Resource, ResourceId};
use crate::rules::routes;
use crate::stream::edit::{Edits, block_document};
use crate::stream::tree::{self, ALIASED, MERGE_READ, Node, Shared};
use crate::stream::{self, Doc, Limits, check, rewrite, skim};

/// What a run produced: the documents to write (borrowed where untouched), new documents to
/// append, and the report.
pub struct Transformed<'a> {
    pub documents: Vec<Cow<'a, str>>,
    pub new_documents: Vec<String>,
    pub changes: Vec<Change>,
    /// A KRM run whose ResourceList carries an error result (kpt and kustomize need exit 1).
    pub failed: Option<String>,
    /// Resources the output leaves without what the workspace policy requires, one line each
    /// (where, what, why, what to do): the run fails and writes nothing (`on_unpatchable: fail`).
    pub refused: Vec<String>,
    /// A manifest stream with text but no Kubernetes object in it (a values file or `Chart.yaml`
    /// piped by mistake): passed through, and said so.
    pub no_objects: bool,
}

/// Where the config comes from: the command line (or `MAIA_KRM_CONFIG`), which a KRM
/// ResourceList's `functionConfig` may override.
pub type ConfigArg = Option<Result<Config, ConfigError>>;

/// Transforms a decoded input: a manifest stream, or a single ResourceList (a KRM function call).
pub fn run<'a>(input: &'a str, config: ConfigArg, jobs: usize) -> Result<Transformed<'a>, Error> {
    let docs = stream::documents(input);
    if docs.iter().all(|d| d.text.trim().is_empty()) {
        // Helm 3 sends an empty stream when a chart renders no non-hook manifest; `cat` and
        // kustomize pass it through, and so do we.
        return Ok(Transformed {
            documents: docs.iter().map(|d| Cow::Borrowed(d.text)).collect(),
            new_documents: Vec::new(),
            changes: Vec::new(),
            failed: None,
            refused: Vec::new(),
            no_objects: false,
        });
    }
    if let [doc] = docs.as_slice()
        && krm::is_resource_list(doc, config.is_none())
    {
        return krm_run(doc, config);
    }
    Ok(transform(&docs, &require(config)?, jobs)?)
}

/// The config a manifest stream (or a runbook command) needs: there is no other place to find one.
pub fn require(config: ConfigArg) -> Result<Config, Error> {
    config
        .unwrap_or_else(|| {
            Err("no config: pass --config FILE (a ConfigMap), --form FILE --cluster FILE, or set MAIA_KRM_CONFIG"
                .into())
        })
        .map_err(Error::Config)
}

/// A manifest stream: every document through the patches, then the documents patches add.
fn transform<'a>(docs: &[Doc<'a>], config: &Config, jobs: usize) -> Result<Transformed<'a>, InputError> {
    let patches = patch::enabled(config);
    let limits = &config.options.limits;
    let policy = Policy::new(config, "", HashSet::new());
    let judge = Judge { policy: &policy };
    let results = stream::par_map(docs, jobs, |doc| {
        patch_document(doc, None, &patches, &config.options.skip_allowed, limits, &no_finish, Some(&judge))
    });
    let mut summary = StreamSummary { documents: docs.len(), ..StreamSummary::default() };
    let mut out = Transformed {
        documents: Vec::with_capacity(docs.len()),
        new_documents: Vec::new(),
        changes: Vec::new(),
        failed: None,
        refused: Vec::new(),
        no_objects: false,
    };
    // What each document holds, as the parser read it: enforcement goes by this, never by a guess
    // from the text (`kind: !!str Ingress` is an Ingress).
    let mut held = Vec::with_capacity(docs.len());
    let mut judged = Vec::with_capacity(docs.len());
    for result in results {
        let patched = result?;
        judged.push(patched.verdicts);
        out.documents.push(patched.text);
        out.changes.extend(patched.reports.changes);
        held.push(patched.resources.clone());
        summary.resources.extend(patched.resources);
        summary.marks.extend(patched.reports.marks);
        summary.wanted.extend(patched.reports.wanted);
    }
    out.no_objects = summary.resources.iter().all(|r| r.kind.is_empty());
    let last = out.documents.last().map_or("", |d| d.as_ref());
    let room = can_end_line(last, limits);
    let (added, present) = patch::new_documents(&patches, &summary);
    out.changes.extend(present);
    for mut new in added {
        if room {
            out.new_documents.push(block_document(&new.value));
        } else {
            new.change.outcome = Outcome::Conflict;
            new.change.message = format!(
                "not added: the stream's last document ends in a block scalar without a line break, \
                 and a document after it would change that text ({})",
                new.change.message
            );
        }
        out.changes.push(new.change);
    }
    let outputs: Vec<Doc> = docs
        .iter()
        .zip(&out.documents)
        .map(|(doc, text)| Doc { index: doc.index, text, first_line: doc.first_line, bare: doc.bare })
        .collect();
    let unprotected = enforce(&outputs, &held, judged, &out.new_documents, config, jobs)?;
    refuse(docs, &mut out.changes, &mut out.refused, unprotected, config);
    Ok(out)
}

/// The policy's verdict on the output: a change (`Unprotected`) for every route and pod spec
/// of the workspace that still lacks what the policy requires. Only documents of kinds the
/// policy covers are read (and SecurityPolicies, which give HTTPRoutes their login), and only
/// again where the patch pass did not already judge them (`judged`, see [`Judge`]).
fn enforce(
    outputs: &[Doc],
    held: &[Vec<ResourceId>],
    mut judged: Vec<Option<Vec<Change>>>,
    added: &[String],
    config: &Config,
    jobs: usize,
) -> Result<Vec<Change>, InputError> {
    let limits = &config.options.limits;
    let mut policy = Policy::new(config, "", HashSet::new());
    let holds = |i: usize, wanted: &dyn Fn(&ResourceId) -> bool| held.get(i).is_some_and(|ids| ids.iter().any(wanted));
    let with_policies = outputs.iter().enumerate().filter(|(i, _)| holds(*i, &|id| id.kind == "SecurityPolicy"));
    for text in with_policies.map(|(_, d)| d.text).chain(added.iter().map(String::as_str)) {
        if let Ok(Some(root)) = tree::parse(text, limits) {
            policy.guard(Policy::guarded(config, resource::resources_of(&root).unwrap_or_default().iter()));
        }
    }
    let covered: Vec<usize> =
        (0..outputs.len()).filter(|i| holds(*i, &|id| policy.covers(&id.api_version, &id.kind))).collect();
    let unjudged: Vec<Doc> = covered.iter().filter(|i| judged[**i].is_none()).map(|i| outputs[*i]).collect();
    let mut verdicts = stream::par_map(&unjudged, jobs, |doc| -> Result<Vec<Change>, InputError> {
        let Some(root) = tree::parse(doc.text, limits).map_err(|e| doc.error(e.line, e.message))? else {
            return Ok(Vec::new());
        };
        let resources = resource::resources_of(&root).map_err(|m| doc.error(root.line, m))?;
        Ok(policy.verdicts(doc.index, &resources))
    })
    .into_iter();
    let mut changes = Vec::new();
    for i in covered {
        match judged[i].take() {
            Some(verdict) => changes.extend(verdict),
            None => changes.extend(verdicts.next().expect("one verdict per unjudged document")?),
        }
    }
    for (i, ids) in held.iter().enumerate() {
        changes.extend(policy.places(outputs[i].index, ids));
    }
    Ok(changes)
}

/// Adds the policy's verdicts to the report; under `on_unpatchable: fail` also one line per
/// resource for stderr (the run then writes nothing), under `warn` they are warnings.
fn refuse(docs: &[Doc], changes: &mut Vec<Change>, refused: &mut Vec<String>, verdicts: Vec<Change>, config: &Config) {
    let (notes, mut verdicts): (Vec<Change>, Vec<Change>) =
        verdicts.into_iter().partition(|v| v.outcome == Outcome::Notice);
    changes.extend(notes);
    verdicts.sort_by_key(|v| v.document);
    if !config.options.fail_closed {
        changes.extend(verdicts.into_iter().map(let_through));
        return;
    }
    // Each refused resource once, in stream order, with what it lacks and the patches' reasons.
    let mut order: Vec<(usize, ResourceId)> = Vec::new();
    let mut lacks: HashMap<(usize, ResourceId), Vec<String>> = HashMap::new();
    for v in &verdicts {
        let key = (v.document, v.resource.clone());
        let entry = lacks.entry(key.clone()).or_insert_with(|| {
            order.push(key);
            Vec::new()
        });
        entry.push(format!("{}: {}", v.field, v.message));
    }
    let mut reasons: HashMap<(usize, &ResourceId), Vec<&str>> = HashMap::new();
    for c in changes.iter().filter(|c| c.outcome == Outcome::Conflict) {
        let why = reasons.entry((c.document, &c.resource)).or_default();
        if !why.contains(&c.message.as_str()) {
            why.push(&c.message);
        }
    }
    let mut lines: HashMap<usize, Vec<(ResourceId, usize)>> = HashMap::new();
    for (document, resource) in &order {
        let doc = &docs[document - 1];
        let starts = lines.entry(*document).or_insert_with(|| resource_lines(doc, &config.options.limits));
        let line = starts.iter().find(|(id, _)| id == resource).map_or(1, |(_, line)| *line);
        let place = doc.error(line, "");
        let file = place.file.map(|f| format!(" ({f})")).unwrap_or_default();
        let why = reasons.get(&(*document, resource)).map(|w| w.join("; "));
        let because = why.map(|w| format!(" (because {w})")).unwrap_or_default();
        refused.push(format!(
            "document {document}{file}, line {}: {resource}: {}{because}; fix the manifest so maia-krm can patch \
             it, or set option on_unpatchable: warn to let it through unprotected",
            place.line,
            lacks[&(*document, resource.clone())].join("; "),
        ));
    }
    changes.extend(verdicts);
}

/// Where each resource of a document starts in the input (line within the document): the
/// document's own first line, or a list item's. Read again only when something is refused.
fn resource_lines(doc: &Doc, limits: &Limits) -> Vec<(ResourceId, usize)> {
    let Ok(Some(root)) = tree::parse(doc.text, limits) else { return Vec::new() };
    resource::resources_of(&root).unwrap_or_default().into_iter().map(|r| (r.id, r.node.line)).collect()
}

/// Whether the stream's last document may get the line break that must precede a new document:
/// true unless that would change its meaning (a `|` text ending the stream gains a final break).
fn can_end_line(last: &str, limits: &Limits) -> bool {
    if last.is_empty() || last.ends_with(['\n', '\r']) {
        return true;
    }
    match tree::parse(last, limits) {
        Ok(Some(root)) => check::edited(&root, &[], &format!("{last}\n"), limits).is_ok(),
        _ => true,
    }
}

/// A KRM function call: the ResourceList is parsed once; its items are patched, and new items
/// and results are added, in one round of edits on that parse.
fn krm_run<'a>(doc: &Doc<'a>, fallback: ConfigArg) -> Result<Transformed<'a>, Error> {
    let read = Limits::default();
    let root = tree::parse(doc.text, &read).map_err(|e| doc.error(e.line, e.message))?;
    let root = root.filter(krm::has_items).ok_or_else(|| doc.error(1, "a ResourceList needs an `items` list"))?;
    let (config, failed) = match krm::config(&root, fallback) {
        Ok(config) => (Some(config), None),
        Err(problems) => (None, Some(problems.to_string())),
    };
    let patches = config.as_ref().map(patch::enabled).unwrap_or_default();
    let mut limits = config.as_ref().map_or(read, |c| c.options.limits.clone());
    limits.max_document_bytes = limits.max_document_bytes.max(limits.max_stream_bytes); // the list is one document
    let finish =
        |root: &Node, summary: &StreamSummary, so_far: &[Change], edits: &mut Edits, changes: &mut Vec<Change>| {
            krm::finish(root, &patches, summary, failed.as_deref(), so_far, edits, changes)
        };
    let skip_allowed = config.as_ref().map(|c| c.options.skip_allowed.clone()).unwrap_or_default();
    let patched = patch_document(doc, Some(root), &patches, &skip_allowed, &limits, &finish, None)?;
    let mut out = Transformed {
        documents: vec![patched.text],
        new_documents: Vec::new(),
        changes: patched.reports.changes,
        failed,
        refused: Vec::new(),
        no_objects: false,
    };
    if let Some(config) = &config {
        krm_enforce(&mut out, config, &limits).map_err(|m| doc.error(1, m))?;
    }
    Ok(out)
}

/// The policy on a ResourceList's patched items: its verdicts become results (errors that fail
/// the call under `on_unpatchable: fail`, as kpt and kustomize expect, else warnings).
fn krm_enforce(out: &mut Transformed, config: &Config, limits: &Limits) -> Result<(), String> {
    let text = out.documents[0].to_string();
    let root = tree::parse(&text, limits).map_err(|e| e.message)?.ok_or("the ResourceList became empty")?;
    let resources = resource::resources_of(&root)?;
    let policy = Policy::new(config, "", Policy::guarded(config, resources.iter()));
    let (mut verdicts, notes): (Vec<Change>, Vec<Change>) =
        policy.places(1, resources.iter().map(|r| &r.id)).into_iter().partition(|c| c.outcome == Outcome::Unprotected);
    out.changes.extend(notes);
    verdicts.extend(policy.verdicts(1, &resources));
    if verdicts.is_empty() {
        return Ok(());
    }
    let changes: Vec<Change> = if config.options.fail_closed {
        let count = verdicts.len();
        out.failed = Some(format!("{count} route(s) or pod spec(s) left without what the workspace requires"));
        verdicts
    } else {
        verdicts.into_iter().map(let_through).collect()
    };
    let results: Vec<serde_json::Value> = changes.iter().filter_map(krm::result).collect();
    let mut edits = Edits::new(&text);
    patch::add_items(&mut edits, &root, "results", results).map_err(str::to_string)?;
    let new = edits.apply();
    check::edited(&root, edits.intents(), &new, limits)?;
    out.changes.extend(changes);
    out.documents[0] = Cow::Owned(new);
    Ok(())
}

/// A verdict under `on_unpatchable: warn`: a warning, and the resource goes out as it is.
fn let_through(mut verdict: Change) -> Change {
    verdict.outcome = Outcome::Conflict;
    verdict.message = format!("left without what the workspace requires (on_unpatchable: warn): {}", verdict.message);
    verdict
}

/// Edits made once the patches are done, on the same parse, given the changes so far (a
/// ResourceList's new items and results).
type Finish<'f> = dyn Fn(&Node, &StreamSummary, &[Change], &mut Edits, &mut Vec<Change>) + Sync + 'f;

fn no_finish(_: &Node, _: &StreamSummary, _: &[Change], _: &mut Edits, _: &mut Vec<Change>) {}

/// One document after the patches: its text (borrowed when untouched) and what happened.
struct Patched<'a> {
    text: Cow<'a, str>,
    resources: Vec<ResourceId>,
    reports: Reports,
    /// The policy's verdicts on `text`, when the pass could tell them ([`Judge`]).
    verdicts: Option<Vec<Change>>,
}

/// What patches reported over a document's resources.
#[derive(Default)]
struct Reports {
    changes: Vec<Change>,
    marks: Vec<&'static str>,
    wanted: Vec<NewDocument>,
}

impl<'a> Patched<'a> {
    fn new(doc: &Doc<'a>) -> Self {
        Patched { text: Cow::Borrowed(doc.text), resources: Vec::new(), reports: Reports::default(), verdicts: None }
    }
}

impl Reports {
    fn absorb(&mut self, mut other: Reports) {
        self.changes.append(&mut other.changes);
        self.marks.append(&mut other.marks);
        self.wanted.append(&mut other.wanted);
    }
}

/// Runs every patch over one document. All patches see the same parse and their splices are
/// merged; only when two patches' edits collide (both creating `metadata.annotations`, say) is
/// the document rewritten and re-parsed before the later patch runs again. Every rewrite is
/// checked (`stream::check`) before it is kept: a failed check leaves the document as it came.
///
/// The steps: [`untouched`] (no patch wants it: no tree), then rounds of [`patch_round`] per
/// patch on one parse, the `finish` edits, and [`commit`] (splice and check) until every patch
/// has run on the current text.
fn patch_document<'a>(
    doc: &Doc<'a>,
    parsed: Option<Node<'a>>,
    patches: &[Box<dyn Patch + '_>],
    skip_allowed: &[String],
    limits: &Limits,
    finish: &Finish,
    judge: Option<&Judge>,
) -> Result<Patched<'a>, InputError> {
    stream::check_size(doc, limits)?;
    stream::check_start(doc)?;
    if parsed.is_none()
        && let Some(out) = untouched(doc, patches, limits)?
    {
        return Ok(out);
    }
    let mut out = Patched::new(doc);
    let mut parsed = parsed;
    let mut next_patch = 0;
    let mut finished = false;
    // A document whose anchors or merge keys stand where an edit must go is written anew in plain
    // block style, once, and patched from the start.
    let mut rewritten = false;
    // Why the document was written anew, reported for each resource once it is read again.
    let mut rewrite_why = None;
    loop {
        let root = match parsed.take() {
            Some(root) => root,
            None => match tree::parse(&out.text, limits).map_err(|e| doc.error(e.line, e.message))? {
                Some(root) => root,
                None => return Ok(out),
            },
        };
        // A list whose items are aliases: written plainly first, or its items could not be read.
        if !rewritten
            && resource::aliased_item(&root).is_some()
            && let Ok(text) = rewrite::plain_block(&out.text, &root, limits)
        {
            drop(root);
            out.text = Cow::Owned(text);
            (rewritten, rewrite_why) = (true, Some(ALIASED));
            continue;
        }
        if !rewritten && may_merge(&out.text) && root.has_merge_key() {
            let merges = merges_matter(&root, patches).map_err(|m| doc.error(root.line, m))?;
            match (merges, rewrite::plain_block(&out.text, &root, limits)) {
                (Merges::Ignored, _) => {}
                (_, Ok(expanded)) => {
                    if read_expanded(&root, &expanded, patches, limits).map_err(|m| doc.error(root.line, m))? {
                        drop(root);
                        out.text = Cow::Owned(expanded);
                        (rewritten, rewrite_why) = (true, Some(MERGE_READ));
                        continue;
                    }
                }
                (Merges::MayHideIdentity, Err(why)) => {
                    let what = "merge keys (`<<`) where a resource's kind or namespace would be, in a document \
                                maia-krm can't write out plainly";
                    return Err(doc.error(root.line, format!("{what} ({why}): what it holds can't be told")));
                }
                // Read as written, the policy refuses each resource whose merges it can't see through.
                (Merges::Read, Err(_)) => {}
            }
        }
        let resources = resource::resources_of(&root).map_err(|m| doc.error(root.line, m))?;
        if next_patch == 0 && !finished {
            out.resources = resources.iter().map(|r| r.id.clone()).collect();
            if let Some(why) = rewrite_why.take() {
                out.reports.changes.extend(out.resources.iter().map(|id| rewrite_note(doc, id.clone(), why)));
            }
            for res in resources.iter().filter(|r| r.node.duplicate_key().is_some()) {
                out.reports.changes.push(read_warning(doc, res));
            }
        }
        let shared = Shared::of(&root, &out.text);
        let round =
            Round { doc, root: &root, text: &out.text, resources: &resources, shared: &shared, skip_allowed, limits };
        let mut batch = Edits::new(&out.text);
        let mut plain = None;
        while let Some(patch) = patches.get(next_patch) {
            let (edits, reports) = match round.run(patch.as_ref(), rewritten) {
                Ok(done) => done,
                Err(rewrite) => {
                    plain = Some(rewrite);
                    break;
                }
            };
            if batch.collides_with(&edits) {
                break; // commit what we have, re-parse, and run this patch again
            }
            batch.absorb(edits);
            out.reports.absorb(reports);
            next_patch += 1;
        }
        if let Some((text, why)) = plain {
            // What the patches did so far went with the old text: start again on the new one.
            drop((batch, shared, resources));
            drop(root);
            out = Patched { text: Cow::Owned(text), ..Patched::new(doc) };
            (next_patch, finished, rewritten, rewrite_why) = (0, false, true, Some(why));
            continue;
        }
        if next_patch == patches.len()
            && !finished
            && let Some(mut changes) = finish_edits(finish, &root, &out.text, &out.resources, &out.reports, &mut batch)
        {
            out.reports.changes.append(&mut changes);
            finished = true;
        }
        // The last round's output is judged on the tree that read it.
        let judge = judge.filter(|j| finished && j.wants(out.resources.iter()));
        if batch.is_empty() && finished {
            out.verdicts = judge.and_then(|j| j.verdicts(doc.index, &root));
            return Ok(out);
        }
        match commit(&root, batch, &out.text, limits, judge.map(|j| (j, doc.index))) {
            Ok((text, verdicts)) => {
                drop(root);
                out.text = Cow::Owned(text);
                out.verdicts = verdicts;
            }
            Err(why) => return Ok(left_alone(doc, out.resources, out.reports.changes, &why)),
        }
        if finished {
            return Ok(out);
        }
    }
}

/// A document's text as maia-krm reads it: written out expanded where its merge keys matter
/// ([`merges_matter`]), as it came otherwise. For readers besides the run (`audit`), which must
/// see what the run sees.
pub fn text_as_read<'a>(
    doc: &Doc<'a>,
    patches: &[Box<dyn Patch + '_>],
    limits: &Limits,
) -> Result<Cow<'a, str>, InputError> {
    let as_written = Ok(Cow::Borrowed(doc.text));
    if !may_merge(doc.text) {
        return as_written;
    }
    let Some(root) = tree::parse(doc.text, limits).map_err(|e| doc.error(e.line, e.message))? else {
        return as_written;
    };
    if !root.has_merge_key() || merges_matter(&root, patches).map_err(|m| doc.error(root.line, m))? == Merges::Ignored {
        return as_written;
    }
    // Where the run could not expand it either, it refused it: the audit reads it as written.
    Ok(rewrite::plain_block(doc.text, &root, limits).map_or(Cow::Borrowed(doc.text), Cow::Owned))
}

/// Whether a document's text could hold a merge key: most don't, and then no tree is walked for one.
fn may_merge(text: &str) -> bool {
    memchr::memmem::find(text.as_bytes(), b"<<").is_some()
}

/// What a document's merge keys may hide.
#[derive(PartialEq)]
enum Merges {
    /// What the resource is: a `<<` at a resource's root or in its `metadata`.
    MayHideIdentity,
    /// What a patch or the policy reads: the resource is of a kind they read.
    Read,
    /// Nothing any rule reads (deep in a CRD's schema, say): left as they came.
    Ignored,
}

fn merges_matter(root: &Node, patches: &[Box<dyn Patch + '_>]) -> Result<Merges, String> {
    let merges_at = |n: Option<&Node>| n.is_some_and(|n| n.entries().iter().any(|(k, _)| k.scalar() == Some("<<")));
    let resources = resource::resources_of(root)?;
    if resources.iter().any(|r| merges_at(Some(r.node)) || merges_at(r.node.get("metadata"))) {
        return Ok(Merges::MayHideIdentity);
    }
    let read = resources.iter().any(|r| {
        let (api_version, kind) = (r.id.api_version.as_str(), r.id.kind.as_str());
        patches.iter().any(|p| p.applies_to(api_version, kind)) || routes::read_by_policy(api_version, kind)
    });
    Ok(if read { Merges::Read } else { Merges::Ignored })
}

/// Whether a document with merge keys must be read (and so written) expanded: when expanding
/// changes what it is (kind, name, namespace) or it holds anything a patch or the policy reads.
/// Otherwise it is left as it came, anchors and merges kept, like any document nothing touches.
fn read_expanded(
    root: &Node,
    expanded: &str,
    patches: &[Box<dyn Patch + '_>],
    limits: &Limits,
) -> Result<bool, String> {
    let plain = tree::parse(expanded, limits).map_err(|e| e.message)?.ok_or("its plain form is empty")?;
    let (before, after) = (resource::resources_of(root)?, resource::resources_of(&plain)?);
    let same = before.len() == after.len() && before.iter().zip(&after).all(|(b, a)| b.id == a.id);
    let read = after.iter().any(|r| {
        let (api_version, kind) = (r.id.api_version.as_str(), r.id.kind.as_str());
        patches.iter().any(|p| p.applies_to(api_version, kind)) || routes::read_by_policy(api_version, kind)
    });
    Ok(!same || read)
}

/// The `finish` edits, once every patch has run: `None` when they collide with the patches'
/// (the batch is committed first and they run on the new text).
fn finish_edits<'t>(
    finish: &Finish,
    root: &Node,
    text: &'t str,
    resources: &[ResourceId],
    so_far: &Reports,
    batch: &mut Edits<'t>,
) -> Option<Vec<Change>> {
    let summary = StreamSummary {
        documents: 1,
        resources: resources.to_vec(),
        marks: so_far.marks.clone(),
        wanted: so_far.wanted.clone(),
    };
    let (mut edits, mut changes) = (Edits::new(text), Vec::new());
    finish(root, &summary, &so_far.changes, &mut edits, &mut changes);
    if batch.collides_with(&edits) {
        return None;
    }
    batch.absorb(edits);
    Some(changes)
}

/// Splices a batch of edits into the document's text and checks the result: it must read as
/// the old text plus exactly the intended edits, and keep its final line break (the next
/// document's `---` must still start a line). With a judge, also its verdicts on the result,
/// from the tree the check read it into.
fn commit(
    root: &Node,
    mut batch: Edits,
    old: &str,
    limits: &Limits,
    judge: Option<(&Judge, usize)>,
) -> Result<(String, Option<Vec<Change>>), String> {
    let text = batch.apply();
    if old.ends_with(['\n', '\r']) && !text.ends_with(['\n', '\r']) {
        return Err("the document lost its final line break".to_string());
    }
    let verdicts = match judge {
        None => check::edited(root, batch.intents(), &text, limits).map(|()| None)?,
        Some((judge, document)) => {
            check::edited_read(root, batch.intents(), &text, limits)?.and_then(|new| judge.verdicts(document, &new))
        }
    };
    Ok((text, verdicts))
}

/// The policy's verdicts on a document's output, told in the patch pass from the tree that read
/// the output last (the check's, or the patches' when nothing changed), so that [`enforce`]
/// need not parse it again. Not for a document holding a Gateway route: a SecurityPolicy in any
/// document of the stream may guard it, so only [`enforce`] can judge it.
struct Judge<'p> {
    policy: &'p Policy,
}

impl Judge<'_> {
    /// Whether a document holding `ids` is judged in the pass: the policy reads it, and its
    /// verdicts depend on nothing outside it.
    fn wants<'i>(&self, ids: impl Iterator<Item = &'i ResourceId> + Clone) -> bool {
        ids.clone().any(|id| self.policy.covers(&id.api_version, &id.kind))
            && !ids.into_iter().any(|id| self.policy.needs_guards(&id.api_version, &id.kind))
    }

    /// `None` when the tree's resources can't be read (then [`enforce`] reads the text and says why).
    fn verdicts(&self, document: usize, root: &Node) -> Option<Vec<Change>> {
        let resources = resource::resources_of(root).ok()?;
        self.wants(resources.iter().map(|r| &r.id)).then(|| self.policy.verdicts(document, &resources))
    }
}

/// The fast path: no patch wants this document, so it is checked and its resources recorded
/// without building a tree — by the skim where it is sure ([`skim`]), else by the parser. `None` when it must take the full path: a patch may want it, it is
/// a list, or it repeats a key (allowed, but reported on the full path).
fn untouched<'a>(
    doc: &Doc<'a>,
    patches: &[Box<dyn Patch + '_>],
    limits: &Limits,
) -> Result<Option<Patched<'a>>, InputError> {
    // A merge key may hide the kind or namespace from `top_level`: such a document is read whole.
    if may_merge(doc.text) {
        return Ok(None);
    }
    let Some(kind) = stream::top_level(doc.text, "kind") else { return Ok(None) };
    let api_version = stream::top_level(doc.text, "apiVersion").unwrap_or_default();
    if patches.iter().any(|p| p.applies_to(api_version, kind) && p.may_change(doc.text)) || kind.ends_with("List") {
        return Ok(None);
    }
    let mut out = Patched::new(doc);
    if let Some(id) = skim::identity(doc.text, limits.max_depth)
        && id.kind == kind
        && id.api_version == api_version
    {
        let (name, namespace) = (id.name.into_owned(), id.namespace.map(Cow::into_owned));
        let (api_version, kind) = (api_version.to_string(), kind.to_string());
        out.resources = vec![ResourceId { api_version, kind, name, namespace, file: None }];
        return Ok(Some(out));
    }
    match tree::check(doc.text, limits) {
        Ok(None) => Ok(Some(out)),
        Ok(Some(head)) => {
            let resources = resource::resources_of(&head).map_err(|m| doc.error(head.line, m))?;
            if !resources.iter().all(|r| r.id.kind == kind && r.id.api_version == api_version) {
                return Ok(None);
            }
            out.resources = resources.into_iter().map(|r| r.id).collect();
            Ok(Some(out))
        }
        Err(e) if e.duplicate && !limits.strict_duplicate_keys => Ok(None),
        Err(e) => Err(doc.error(e.line, e.message)),
    }
}

/// One parse of a document, as every patch of a round sees it.
struct Round<'r, 'a> {
    doc: &'r Doc<'a>,
    root: &'r Node<'r>,
    text: &'r str,
    resources: &'r [Resource<'r, 'r>],
    shared: &'r Shared,
    skip_allowed: &'r [String],
    limits: &'r Limits,
}

impl<'r> Round<'r, '_> {
    /// One patch over the document's resources: its edits and reports, or (`Err`) the document
    /// written anew in plain block style, and why, when an edit must go where an anchor, alias or
    /// merge key stands and the document has not been rewritten yet.
    fn run(&self, patch: &dyn Patch, rewritten: bool) -> Result<(Edits<'r>, Reports), (String, &'static str)> {
        let mut reports = Reports::default();
        let mut edits = Edits::new(self.text);
        for res in self.resources.iter().filter(|r| patch.applies_to(&r.id.api_version, &r.id.kind)) {
            let kept = (reports.changes.len(), reports.marks.len(), reports.wanted.len());
            let mut own = edits.fork();
            let mut report = Report {
                patch: patch.name(),
                resource: &res.id,
                document: self.doc.index,
                changes: &mut reports.changes,
                marks: &mut reports.marks,
                wanted: &mut reports.wanted,
            };
            if res.skips(patch.name(), self.skip_allowed) {
                let why = format!("disabled by annotation {}", resource::SKIP_ANNOTATION);
                report.push(Outcome::Disabled, "metadata.annotations", why);
                continue;
            } else if res.asks_to_skip(patch.name()) {
                let why = format!(
                    "annotation {} not honoured: the admin's option skip_allowed does not list {}",
                    resource::SKIP_ANNOTATION,
                    patch.name()
                );
                report.push(Outcome::Notice, "metadata.annotations", why);
            }
            patch.apply(res, &mut own, &mut report);
            // A patch that had to leave something alone in a resource with aliases may have met
            // one where it reads or writes (a pod spec, a host): the plain form has none.
            let aliased =
                reports.changes[kept.0..].iter().any(|c| c.outcome == Outcome::Conflict) && res.node.has_alias();
            match self.shared.refuses_any(own.intents()).or(aliased.then_some(ALIASED)) {
                None => edits.absorb(own),
                Some(why) if !rewritten && let Ok(text) = rewrite::plain_block(self.text, self.root, self.limits) => {
                    return Err((text, why));
                }
                Some(why) => {
                    // The patch's own account of this resource is withdrawn with its edits.
                    let field = withdraw(&mut reports.changes, kept.0);
                    reports.marks.truncate(kept.1);
                    reports.wanted.truncate(kept.2);
                    reports.changes.push(Change {
                        outcome: Outcome::Conflict,
                        patch: patch.name(),
                        resource: res.id.clone(),
                        document: self.doc.index,
                        field,
                        message: format!("not patched: the place of the edit {why}"),
                    });
                }
            }
        }
        Ok((edits, reports))
    }
}

/// The document as it came, when its edits failed the check: every change is withdrawn and
/// each resource reports why. This serves users better than failing the run: the chart's own
/// manifest installs as it would without maia-krm, and the report names what to look at.
fn left_alone<'a>(doc: &Doc<'a>, resources: Vec<ResourceId>, changes: Vec<Change>, why: &str) -> Patched<'a> {
    let mut kept: Vec<Change> = changes.into_iter().filter(|c| c.outcome != Outcome::Changed).collect();
    for resource in &resources {
        kept.push(Change {
            outcome: Outcome::Conflict,
            patch: CHECK,
            resource: resource.clone(),
            document: doc.index,
            field: String::new(),
            message: format!(
                "not patched: the edited document failed maia-krm's check ({why}); left as it came — please report this"
            ),
        });
    }
    let reports = Reports { changes: kept, ..Reports::default() };
    Patched { text: Cow::Borrowed(doc.text), resources, reports, verdicts: None }
}

/// Takes a patch's changes from `from` on out of the report, and names the fields it would
/// have changed.
fn withdraw(changes: &mut Vec<Change>, from: usize) -> String {
    let withdrawn = changes.split_off(from);
    let fields: Vec<&str> =
        withdrawn.iter().filter(|c| c.outcome == Outcome::Changed).map(|c| c.field.as_str()).collect();
    fields.join(", ")
}

/// The report of a document written anew in plain style, for each of its resources.
fn rewrite_note(doc: &Doc, resource: ResourceId, why: &str) -> Change {
    Change {
        outcome: Outcome::Changed,
        patch: REWRITE,
        resource,
        document: doc.index,
        field: String::new(),
        message: format!(
            "written anew in plain block style (anchors, aliases and merge keys expanded, comments dropped), \
             since the place of an edit {why}"
        ),
    }
}

/// The name under which a document written anew in plain style is reported.
pub const REWRITE: &str = "rewrite";

/// The name under which failed checks are reported (`--explain`, KRM results).
pub const CHECK: &str = "check";

/// A warning for a resource that repeats a key: accepted as Helm and kubectl accept it, but
/// the chart author most likely meant something else.
fn read_warning(doc: &Doc, res: &Resource) -> Change {
    let (line, key) = res.node.duplicate_key().unwrap_or_default();
    let line = doc.first_line + line.saturating_sub(1);
    Change {
        outcome: Outcome::Conflict,
        patch: "read",
        resource: res.id.clone(),
        document: doc.index,
        field: String::new(),
        message: format!(
            "key {key:?} is repeated (line {line}): Helm and kubectl read the last one, and so does maia-krm"
        ),
    }
}
