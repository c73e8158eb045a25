//! One edit of ELF shared objects: dropping `DT_NEEDED` entries for glibc's stub libraries
//! (libpthread, libdl, librt, libutil). Since glibc 2.34 their contents live in libc.so.6 and
//! the files are empty stubs; mxcp's floor is glibc 2.35, so the entries only make extension
//! modules from manylinux wheels fail on minimal images (distroless, scratch + libc) that
//! ship libc without the stubs.

use std::path::Path;

const STUBS: &[&[u8]] = &[b"libpthread.so.0", b"libdl.so.2", b"librt.so.1", b"libutil.so.1"];
const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const DT_NULL: u64 = 0;
const DT_NEEDED: u64 = 1;
const DT_STRTAB: u64 = 5;

fn u16_at(b: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(o..o + 2)?.try_into().ok()?))
}
fn u32_at(b: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(o..o + 4)?.try_into().ok()?))
}
fn u64_at(b: &[u8], o: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(o..o + 8)?.try_into().ok()?))
}

/// Removes the stub entries from `data` (a 64-bit little-endian ELF); returns how many.
pub fn drop_glibc_stubs(data: &mut [u8]) -> usize {
    edit(data).unwrap_or(0)
}

fn edit(b: &mut [u8]) -> Option<usize> {
    if b.get(..4)? != b"\x7fELF" || b[4] != 2 || b[5] != 1 {
        return None;
    }
    let (phoff, phentsize, phnum) = (u64_at(b, 0x20)? as usize, u16_at(b, 0x36)? as usize, u16_at(b, 0x38)? as usize);
    let mut loads = Vec::new();
    let mut dynamic = None;
    for i in 0..phnum {
        let p = phoff + i * phentsize;
        let (ty, off, vaddr, filesz) = (u32_at(b, p)?, u64_at(b, p + 8)?, u64_at(b, p + 16)?, u64_at(b, p + 32)?);
        match ty {
            PT_LOAD => loads.push((vaddr, off, filesz)),
            PT_DYNAMIC => dynamic = Some((off as usize, filesz as usize)),
            _ => {}
        }
    }
    let (doff, dsize) = dynamic?;
    let mut entries = Vec::new();
    for i in 0..dsize / 16 {
        let (tag, val) = (u64_at(b, doff + i * 16)?, u64_at(b, doff + i * 16 + 8)?);
        if tag == DT_NULL {
            break;
        }
        entries.push((tag, val));
    }
    let strtab_vaddr = entries.iter().find(|(t, _)| *t == DT_STRTAB)?.1;
    let (lv, lo, _) = loads.iter().find(|(v, _, sz)| strtab_vaddr >= *v && strtab_vaddr < v + sz)?;
    let strtab = (strtab_vaddr - lv + lo) as usize;
    let name = |off: u64| -> Option<&[u8]> {
        let start = strtab + off as usize;
        let len = b.get(start..)?.iter().position(|&c| c == 0)?;
        Some(&b[start..start + len])
    };
    let kept: Vec<(u64, u64)> = entries
        .iter()
        .copied()
        .filter(|(t, v)| !(*t == DT_NEEDED && name(*v).is_some_and(|n| STUBS.contains(&n))))
        .collect();
    let removed = entries.len() - kept.len();
    if removed == 0 {
        return Some(0);
    }
    for i in 0..dsize / 16 {
        let (tag, val) = kept.get(i).copied().unwrap_or((DT_NULL, 0));
        b[doff + i * 16..doff + i * 16 + 8].copy_from_slice(&tag.to_le_bytes());
        b[doff + i * 16 + 8..doff + i * 16 + 16].copy_from_slice(&val.to_le_bytes());
    }
    Some(removed)
}

/// Applies [`drop_glibc_stubs`] to every `.so` under `dir`; returns the files changed.
pub fn drop_glibc_stubs_under(dir: &Path) -> std::io::Result<usize> {
    let mut changed = 0;
    for (_, path) in crate::pack::files_under(dir)? {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if !(name.ends_with(".so") || name.contains(".so.")) {
            continue;
        }
        let mut data = std::fs::read(&path)?;
        if drop_glibc_stubs(&mut data) > 0 {
            std::fs::write(&path, &data)?;
            changed += 1;
        }
    }
    Ok(changed)
}
