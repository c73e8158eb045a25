//! Reading what PyYAML reads and saphyr-parser rejects.
//!
//! saphyr follows YAML 1.2 to the letter where PyYAML is lenient:
//! - inside a flow collection (`[...]`, `{...}`) nested in a block, every line must be indented
//!   more than the block (a closing `]` under its key is "invalid indentation");
//! - the continuation lines of a quoted scalar must be indented like that too, without tabs;
//! - a comment must be separated by a space even after `"x"`, `]` or `,` (`[1,# c`).
//!
//! None of these change what the text means, so when a parse fails, the text is rewritten so
//! that saphyr reads it (spaces inserted at the start of lines inside flow collections and
//! quoted scalars, such comments blanked out) and parsed again. Lines are padded, never joined,
//! so a position in the rewritten text maps back by subtracting its line's padding.
//!
//! First a one-pass guess pads every line a light lexer finds inside a flow collection; if
//! saphyr then reads the text, and reads every padded line as inside a flow collection or a
//! quoted scalar, the guess stands. Otherwise the errors are fixed one by one from saphyr's
//! own positions (exact, but a rescan per fix).

use saphyr_parser::{Event, ScalarStyle};

use super::{Node, Pos, SyntaxError, Value};

/// Bounds the characters rescanned while fixing errors one by one (a rescan each).
const RESCAN_BUDGET: usize = 4 << 20;

type Parsed = (Result<Option<Node>, SyntaxError>, Vec<super::Duplicate>);
/// An error that is not one of saphyr's strict ones, with the duplicates found before it.
type Failed = (SyntaxError, Vec<super::Duplicate>);

/// Parses `text` again after fixing the errors PyYAML would not have raised, `err` being what
/// parsing `text` gave. `None` when nothing could be fixed, or when the rewritten text fails no
/// further than `err` (the original error says more). Positions are mapped back to `text`.
pub(super) fn retry(text: &str, err: &SyntaxError, parse: impl Fn(&str) -> Parsed) -> Option<Parsed> {
    let mut budget = RESCAN_BUDGET;
    let mut guess = Fixer::new(text);
    if guess.propose() {
        if let Some(Ok(parsed)) = guess.settle(None, &parse, &mut budget) {
            return Some(parsed);
        }
    }
    match Fixer::new(text).settle(Some(err.clone()), &parse, &mut budget)? {
        Ok(parsed) => Some(parsed),
        // a real error; report it if it is further than the first one
        Err((e, dups)) => (e.pos > err.pos).then_some((Err(e), dups)),
    }
}

/// Runs saphyr-parser over `text` without building anything: its first error, or which lines
/// start inside a flow collection or a quoted scalar.
fn scan(fixer: &Fixer, text: &str) -> Result<Vec<bool>, SyntaxError> {
    let mut inside = vec![false; fixer.lines.len()];
    let mut mark = |from: usize, to: usize| {
        // 1-based lines from+1..=to start inside
        for flag in inside.iter_mut().take(to).skip(from) {
            *flag = true;
        }
    };
    let mut starts = Vec::new();
    for event in saphyr_parser::Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| super::scan_error(&e))?;
        let (line, col) = (span.start.line(), span.start.col());
        match event {
            Event::SequenceStart(..) | Event::MappingStart(..) => starts.push(line),
            Event::SequenceEnd | Event::MappingEnd => {
                let start = starts.pop().unwrap_or(line);
                // a flow collection ends at its bracket, a block one elsewhere
                let at = line.checked_sub(1).and_then(|l| fixer.lines.get(l)).and_then(|r| r.get(col));
                if matches!(at, Some(']' | '}')) {
                    mark(start, line);
                }
            }
            Event::Scalar(_, ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted, ..) => mark(line, span.end.line()),
            _ => {}
        }
    }
    Ok(inside)
}

struct Fixer {
    bom: bool,
    /// Characters of each line, without its line break.
    lines: Vec<Vec<char>>,
    breaks: Vec<&'static str>,
    /// Spaces inserted at the start of each line.
    shift: Vec<u32>,
}

impl Fixer {
    fn new(text: &str) -> Fixer {
        // saphyr does not count a leading byte order mark as a column
        let (bom, text) = match text.strip_prefix('\u{FEFF}') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let mut lines = vec![Vec::new()];
        let mut breaks = Vec::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            // line breaks as saphyr counts them: \n, \r\n and a lone \r
            let brk = match c {
                '\n' => "\n",
                '\r' if chars.peek() == Some(&'\n') => {
                    chars.next();
                    "\r\n"
                }
                '\r' => "\r",
                _ => {
                    if let Some(line) = lines.last_mut() {
                        line.push(c);
                    }
                    continue;
                }
            };
            breaks.push(brk);
            lines.push(Vec::new());
        }
        breaks.push("");
        let shift = vec![0; lines.len()];
        Fixer { bom, lines, breaks, shift }
    }

    fn text(&self) -> String {
        let mut out = String::new();
        if self.bom {
            out.push('\u{FEFF}');
        }
        for (line, brk) in self.lines.iter().zip(&self.breaks) {
            out.extend(line.iter());
            out.push_str(brk);
        }
        out
    }

    fn original(&self, pos: Pos) -> Pos {
        let shift = pos.line.checked_sub(1).and_then(|l| self.shift.get(l as usize)).copied().unwrap_or(0);
        // an empty node can sit inside the padding; it belongs at the line's first column
        Pos { line: pos.line, col: pos.col.saturating_sub(shift).max(1) }
    }

    fn map_dups(&self, mut dups: Vec<super::Duplicate>) -> Vec<super::Duplicate> {
        for dup in &mut dups {
            dup.0 = self.original(dup.0);
        }
        dups
    }

    fn map_back(&self, node: &mut Node) {
        node.pos = self.original(node.pos);
        match &mut node.value {
            Value::Seq(items) => items.iter_mut().for_each(|n| self.map_back(n)),
            Value::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
                self.map_back(k);
                self.map_back(v);
            }),
            _ => {}
        }
    }

    /// Fixes `pending` and the errors after it until saphyr reads the text, then builds it.
    /// `None` when the fixes go wrong (a padded line is not inside a flow collection or
    /// quoted scalar after all) or exceed the budget; `Err` with an error that is not one of
    /// saphyr's strict ones.
    fn settle(
        mut self,
        mut pending: Option<SyntaxError>,
        parse: &impl Fn(&str) -> Parsed,
        budget: &mut usize,
    ) -> Option<Result<Parsed, Failed>> {
        loop {
            if let Some(err) = pending.take() {
                if !self.fix(&err) {
                    let (_, dups) = parse(&self.text());
                    let err = SyntaxError { pos: self.original(err.pos), message: err.message };
                    return Some(Err((err, self.map_dups(dups))));
                }
            }
            let text = self.text();
            *budget = budget.checked_sub(text.len())?;
            let inside = match scan(&self, &text) {
                Ok(inside) => inside,
                Err(e) => {
                    pending = Some(e);
                    continue;
                }
            };
            if self.shift.iter().zip(&inside).any(|(&s, &ok)| s > 0 && !ok) {
                return None;
            }
            let (result, dups) = parse(&text);
            let result = match result {
                Ok(mut root) => {
                    if let Some(node) = &mut root {
                        self.map_back(node);
                    }
                    Ok(root)
                }
                Err(e) => Err(SyntaxError { pos: self.original(e.pos), message: e.message }),
            };
            return Some(Ok((result, self.map_dups(dups))));
        }
    }

    /// The one-pass guess: pads every line that starts inside a flow collection opened in a
    /// block right of its opening bracket. Knows comments, quoted, block and multi-line plain
    /// scalars (whose brackets are text); `settle` checks the rest. True if it padded a line.
    fn propose(&mut self) -> bool {
        let mut pads: Vec<(usize, usize)> = Vec::new();
        let (mut l, mut c) = (0, 0);
        let mut line_start = true;
        // lines indented more than this continue a block or plain scalar
        let mut right_of: Option<usize> = None;
        let mut key_col = 0; // the block indentation of what follows on this line
        let mut scalar_col = None; // where the last scalar started: a key if `:` follows
        while let Some(row) = self.lines.get(l) {
            if line_start {
                line_start = false;
                let indent = leading_blanks(row);
                if indent == row.len() || row[indent] == '#' || is_document_marker(row) {
                    (l, line_start) = (l + 1, true);
                    continue;
                }
                if right_of.is_some_and(|n| indent > n) {
                    (l, line_start) = (l + 1, true);
                    continue;
                }
                (right_of, c, key_col, scalar_col) = (None, indent, indent, None);
            }
            let Some(&ch) = row.get(c) else {
                (l, line_start) = (l + 1, true);
                continue;
            };
            let blank_after = row.get(c + 1).is_none_or(|n| matches!(n, ' ' | '\t'));
            match ch {
                ' ' | '\t' => c += 1,
                '#' => c = row.len(),
                '-' | '?' if blank_after => (key_col, c) = (c, c + 1),
                ':' if blank_after => {
                    key_col = scalar_col.unwrap_or(key_col);
                    c += 1;
                }
                '[' | '{' => {
                    let (lines, end) = self.flow_lines(l, c + 1);
                    pads.extend(lines.into_iter().map(|x| (x, c + 1)));
                    let Some(end) = end else { break };
                    scalar_col = Some(c);
                    (l, c) = end;
                }
                '"' | '\'' => {
                    let Some(end) = self.skip_quoted(l, c, &mut Vec::new()) else { break };
                    scalar_col = Some(c);
                    (l, c) = end;
                }
                '|' | '>' => {
                    right_of = Some(key_col);
                    (l, line_start) = (l + 1, true);
                }
                '&' | '!' | '*' => c += row[c..].iter().take_while(|x| !matches!(x, ' ' | '\t')).count(),
                _ => {
                    // a plain scalar, to `: `, ` #` or the end of the line
                    scalar_col = Some(c);
                    while let Some(&x) = row.get(c) {
                        let next = row.get(c + 1);
                        if (x == ':' && next.is_none_or(|n| matches!(n, ' ' | '\t')))
                            || (matches!(x, ' ' | '\t') && next == Some(&'#'))
                        {
                            break;
                        }
                        c += 1;
                    }
                    if c == row.len() {
                        right_of = Some(key_col); // a value: it may go on over more lines
                    }
                }
            }
        }
        let mut padded = false;
        for (line, target) in pads {
            padded |= self.pad_to(line, target, false);
        }
        padded
    }

    /// Rewrites the text so that `err` (a position in the current text) does not happen again;
    /// false when it is not an error PyYAML skips, or when it cannot be fixed.
    fn fix(&mut self, err: &SyntaxError) -> bool {
        let (Some(line), Some(col)) = (err.pos.line.checked_sub(1), err.pos.col.checked_sub(1)) else {
            return false;
        };
        let (line, col) = (line as usize, col as usize);
        let Some(row) = self.lines.get(line) else {
            return false;
        };
        match err.message.as_str() {
            // a token of a flow collection left of the enclosing block's indentation (saphyr
            // only says this inside flow collections: in a block it closes the block instead)
            "invalid indentation" | "invalid indentation in flow construct" => {
                if self.shift[line] > 0 {
                    return false; // padded already: something else is wrong
                }
                let (mut lines, _) = self.flow_lines(line, col);
                lines.push(line);
                self.pad(line, &lines, false);
                self.shift[line] > 0
            }
            // a continuation line of the quoted scalar starting here is too far left
            "invalid indentation in quoted scalar" => {
                if !matches!(row.get(col), Some('"' | '\'')) {
                    return false;
                }
                let mut lines = Vec::new();
                self.skip_quoted(line, col, &mut lines);
                self.pad(line + 1, &lines, true) > 0
            }
            // a tab in the indentation of a quoted scalar's continuation line (error at the tab)
            "tab cannot be used as indentation" => self.pad(line, &[line], true) > 0,
            "comments must be separated from other tokens by whitespace" => {
                // PyYAML takes `#` right after a quoted scalar or a flow indicator as a comment
                let after_token = col > 0 && matches!(row[col - 1], '"' | '\'' | '[' | ']' | '{' | '}' | ',');
                if row.get(col) != Some(&'#') || !after_token {
                    return false;
                }
                let row = &mut self.lines[line];
                row[col..].iter_mut().for_each(|c| *c = ' ');
                true
            }
            _ => false,
        }
    }

    /// Moves the first character of each of `lines` right of every block token before line
    /// `first` (past the longest of those lines: block tokens are never on padded lines, and
    /// inside flow collections and quoted scalars leading spaces are insignificant). How many
    /// lines got padded.
    fn pad(&mut self, first: usize, lines: &[usize], in_quoted: bool) -> usize {
        let before = first.min(self.lines.len());
        let longest = self.lines[..before].iter().zip(&self.shift).map(|(r, &s)| r.len() - s as usize).max();
        let target = longest.unwrap_or(0) + 1;
        lines.iter().filter(|&&l| self.pad_to(l, target, in_quoted)).count()
    }

    /// Pads `line` so that its first character is at column `target` (0-based) or further;
    /// false if it is blank or there already. PyYAML takes tabs before the text of a quoted
    /// scalar's line, not before a flow collection's tokens: those lines stay as they are.
    fn pad_to(&mut self, line: usize, target: usize, in_quoted: bool) -> bool {
        let Some(row) = self.lines.get_mut(line) else { return false };
        let indent = leading_blanks(row);
        if indent == row.len() || indent >= target || (!in_quoted && row[..indent].contains(&'\t')) {
            return false;
        }
        let pad = target - indent;
        row.splice(0..0, std::iter::repeat_n(' ', pad));
        self.shift[line] += pad as u32;
        true
    }

    /// The lines after `line` that start inside the flow collection holding the token at
    /// (`line`, `col`), and the position after its closing bracket (`None` if it has none).
    fn flow_lines(&self, line: usize, col: usize) -> (Vec<usize>, Option<(usize, usize)>) {
        let mut out = Vec::new();
        let (mut l, mut c) = (line, col);
        let mut depth = 0i32;
        let mut token_start = true; // where a quoted scalar, tag or anchor can begin
        let mut after_quoted = false; // `"a":1` has a value indicator without a space
        while let Some(row) = self.lines.get(l) {
            let Some(&ch) = row.get(c) else {
                l += 1;
                c = 0;
                match self.lines.get(l) {
                    // PyYAML stops at a document marker, even inside a flow collection
                    Some(next) if is_document_marker(next) => return (out, None),
                    Some(_) => out.push(l),
                    None => return (out, None),
                }
                continue;
            };
            let next = row.get(c + 1).copied();
            let ends_token = |n: Option<char>| n.is_none_or(|n| matches!(n, ' ' | '\t' | ',' | '[' | ']' | '{' | '}'));
            match ch {
                '"' | '\'' if token_start => {
                    match self.skip_quoted(l, c, &mut out) {
                        Some(end) => (l, c) = end,
                        None => return (out, None),
                    }
                    token_start = false;
                    after_quoted = true;
                    continue;
                }
                '#' if token_start || c == 0 || matches!(row[c - 1], ' ' | '\t') => {
                    c = row.len();
                    continue;
                }
                '[' | '{' => {
                    depth += 1;
                    token_start = true;
                }
                ']' | '}' => {
                    depth -= 1;
                    if depth < 0 {
                        return (out, Some((l, c + 1)));
                    }
                    token_start = false;
                }
                ',' => token_start = true,
                ':' if after_quoted || ends_token(next) => token_start = true,
                '?' if token_start && ends_token(next) => {}
                '!' | '&' | '*' if token_start => {
                    while row.get(c).is_some_and(|&x| !ends_token(Some(x))) {
                        c += 1;
                    }
                    token_start = ch != '*';
                    after_quoted = false;
                    continue;
                }
                ' ' | '\t' => {
                    c += 1;
                    continue;
                }
                _ => token_start = false,
            }
            after_quoted = false;
            c += 1;
        }
        (out, None)
    }

    /// Skips the quoted scalar whose opening quote is at (`line`, `col`), adding the lines it
    /// continues on to `out`; the position after its closing quote, `None` if it has none.
    fn skip_quoted(&self, line: usize, col: usize, out: &mut Vec<usize>) -> Option<(usize, usize)> {
        let quote = *self.lines.get(line)?.get(col)?;
        let (mut l, mut c) = (line, col + 1);
        loop {
            let row = self.lines.get(l)?;
            match row.get(c) {
                None => {
                    l += 1;
                    c = 0;
                    if is_document_marker(self.lines.get(l)?) {
                        return None;
                    }
                    out.push(l);
                }
                Some('\\') if quote == '"' => c += 2,
                Some('\'') if quote == '\'' && row.get(c + 1) == Some(&'\'') => c += 2,
                Some(&x) if x == quote => return Some((l, c + 1)),
                Some(_) => c += 1,
            }
        }
    }
}

fn leading_blanks(row: &[char]) -> usize {
    row.iter().take_while(|c| matches!(c, ' ' | '\t')).count()
}

fn is_document_marker(row: &[char]) -> bool {
    let prefix: String = row.iter().take(3).collect();
    (prefix == "---" || prefix == "...") && row.get(3).is_none_or(|c| matches!(c, ' ' | '\t'))
}
