//! The skim (`src/stream/skim.rs`) against the full parse: wherever it answers, the parser must
//! read the document without error and without a repeated key, and find the same one resource.
//! On every document of both chart corpora, and on mutations of them in the places a line-based
//! reader could go wrong (indentation, indicators, quotes, comments, tabs, keys said twice).
//! With `YAMLV3=path/to/target/go/yamlv3` (as `tests/run` sets it), every document the skim reads
//! must also be read by Go yaml.v3, Helm's own reader; the differential
//! (`tests/py/test_differential.py`) checks the same through the binary.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use maia_krm::resource::resources_of;
use maia_krm::stream::{self, Limits, skim, tree};

fn corpus_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The corpora are kept compressed in tests/corpus/; its script unpacks them into target/ once.
    let unpacked = Command::new("python3")
        .arg(root.join("tests/corpus/unpack.py"))
        .args(["corpus", "corpus-wide"])
        .output()
        .expect("python3 runs tests/corpus/unpack.py");
    assert!(unpacked.status.success(), "unpack.py: {}", String::from_utf8_lossy(&unpacked.stderr));
    let mut files = Vec::new();
    for dir in String::from_utf8(unpacked.stdout).unwrap().lines() {
        for entry in std::fs::read_dir(dir.trim()).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "yaml") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(files.len() > 300, "both corpora unpacked: {} files", files.len());
    files
}

/// Whether the skim's answer on `text`, if any, is the parser's: `Err` says how it is not.
fn agrees(text: &str) -> Result<bool, String> {
    let Some(id) = skim::identity(text, Limits::default().max_depth) else { return Ok(false) };
    // A repeated key is an error here, so a document the skim passed must have none.
    let strict = Limits { strict_duplicate_keys: true, ..Limits::default() };
    let root = tree::parse(text, &strict)
        .map_err(|e| format!("skimmed, but the parser refuses it (line {}: {})", e.line, e.message))?
        .ok_or("skimmed, but the parser finds no node")?;
    let resources = resources_of(&root).map_err(|e| format!("skimmed, but {e}"))?;
    let [res] = resources.as_slice() else { return Err(format!("skimmed, but {} resources", resources.len())) };
    let full = (res.id.api_version.as_str(), res.id.kind.as_str(), res.id.name.as_str(), res.id.namespace.as_deref());
    let skimmed = (&*id.api_version, &*id.kind, &*id.name, id.namespace.as_deref());
    if full != skimmed || res.id.file.is_some() {
        return Err(format!("skimmed {skimmed:?}, parsed {full:?} (file {:?})", res.id.file));
    }
    Ok(true)
}

fn corpus_documents() -> Vec<String> {
    let mut docs = Vec::new();
    for file in corpus_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        docs.extend(stream::documents(&text).iter().map(|d| d.text.to_string()));
    }
    docs
}

/// Documents yaml.v3 refuses, with its reason (`yamlv3 batch`: one stream per request). Empty,
/// and said loudly, without `YAMLV3`.
fn refused_by_yaml_v3(docs: &[String]) -> Vec<(String, String)> {
    let Ok(bin) = std::env::var("YAMLV3") else {
        eprintln!("!! YAMLV3 is not set: the skimmed documents are NOT checked against Go yaml.v3");
        return Vec::new();
    };
    let mut child = Command::new(bin).arg("batch").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input: Vec<u8> =
        docs.iter().flat_map(|d| [format!("{}\n", d.len()).into_bytes(), d.clone().into_bytes()]).flatten().collect();
    let writer = std::thread::spawn(move || stdin.write_all(&input).unwrap());
    let answers: Vec<String> = BufReader::new(child.stdout.take().unwrap()).lines().map(Result::unwrap).collect();
    writer.join().unwrap();
    child.wait().unwrap();
    assert_eq!(answers.len(), docs.len(), "one answer per document");
    docs.iter().zip(answers).filter(|(_, a)| !a.starts_with("{\"ok\":true")).map(|(d, a)| (d.clone(), a)).collect()
}

#[test]
fn every_corpus_document_reads_as_the_parser_reads_it() {
    let docs = corpus_documents();
    let (mut skimmed, mut bytes, mut all_bytes) = (Vec::new(), 0, 0);
    for doc in &docs {
        all_bytes += doc.len();
        match agrees(doc) {
            Ok(true) => {
                skimmed.push(doc.clone());
                bytes += doc.len();
            }
            Ok(false) => {}
            Err(why) => panic!("{why}:\n{doc}"),
        }
    }
    eprintln!(
        "skim: {} of {} corpus documents ({:.0}% of {all_bytes} bytes) read without the parser",
        skimmed.len(),
        docs.len(),
        100.0 * bytes as f64 / all_bytes as f64
    );
    // Most of what charts render is in the subset: a change that loses it is a change in speed.
    assert!(bytes * 2 > all_bytes, "the skim read only {bytes} of {all_bytes} bytes");
    if let Some((doc, why)) = refused_by_yaml_v3(&skimmed).first() {
        panic!("skimmed, but yaml.v3 refuses it: {why}\n{doc}");
    }
}

/// A small deterministic generator (xorshift): the same mutations on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// One edit where a line-based reader could be fooled.
fn mutate(doc: &str, rng: &mut Rng) -> String {
    const PIECES: &[&str] = &[
        " ",
        "  ",
        "-",
        "- ",
        ":",
        ": ",
        "#",
        " #",
        "\"",
        "'",
        "''",
        "|",
        ">",
        "|-",
        "[",
        "]",
        "{",
        "}",
        "{}",
        "[]",
        "&a ",
        "*a",
        "!!str ",
        "\t",
        "\\",
        "?",
        "? ",
        "%",
        "@",
        "`",
        ",",
        "---",
        "...",
        "\n",
        "\n  ",
        "\n- ",
        "kind: X\n",
        "name: y",
        "namespace: z",
        "metadata:\n",
        "<<: ",
        "items:\n- ",
        "é",
        "\r",
        "\u{2028}",
        "~",
        "null",
        "\"\"",
        "x: |2\n",
        "|+",
    ];
    let mut lines: Vec<String> = doc.split('\n').map(str::to_string).collect();
    let n = lines.len();
    let at = rng.below(n);
    match rng.below(6) {
        0 => lines[at].insert(0, ' '),
        1 => {
            if lines[at].starts_with(' ') {
                lines[at].remove(0);
            }
        }
        2 => {
            let line = lines[at].clone();
            lines.insert(rng.below(n + 1), line);
        }
        3 => {
            let other = rng.below(n);
            lines.swap(at, other);
        }
        _ => {
            let line = &mut lines[at];
            let mut cut = rng.below(line.len() + 1);
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            if rng.below(3) == 0 && cut < line.len() {
                let mut end = cut + 1;
                while !line.is_char_boundary(end) {
                    end += 1;
                }
                line.replace_range(cut..end, "");
            } else {
                line.insert_str(cut, PIECES[rng.below(PIECES.len())]);
            }
        }
    }
    lines.join("\n")
}

#[test]
fn mutations_of_corpus_documents_read_as_the_parser_reads_them() {
    let docs: Vec<String> = corpus_documents().into_iter().filter(|d| d.len() < 6000).collect();
    let seed = std::env::var("MAIA_SKIM_SEED").ok().and_then(|n| n.parse().ok()).unwrap_or(0x9E37_79B9_7F4A_7C15);
    let mut rng = Rng(seed);
    let cases: usize = std::env::var("MAIA_SKIM_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(20_000);
    let (mut skimmed, mut declined) = (Vec::new(), 0);
    for _ in 0..cases {
        let mut text = docs[rng.below(docs.len())].clone();
        for _ in 0..1 + rng.below(3) {
            text = mutate(&text, &mut rng);
        }
        match agrees(&text) {
            Ok(true) => skimmed.push(text),
            Ok(false) => declined += 1,
            Err(why) => panic!("{why}:\n{text}"),
        }
    }
    eprintln!("skim: {cases} mutated documents, {} read, {declined} left to the parser", skimmed.len());
    assert!(skimmed.len() > cases / 10 && declined > cases / 10, "the mutations reach both answers");
    if let Some((doc, why)) = refused_by_yaml_v3(&skimmed).first() {
        panic!("skimmed, but yaml.v3 refuses it: {why}\n{doc}");
    }
}
