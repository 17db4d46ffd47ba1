#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""docs/man/gen-man.py - section-3 man pages from the public headers.

Every function declared POOL_EXTERN under include/pool/ gets <name>.3: its
prototype and the contract comment above it (the header is the contract,
STYLE.md), converted by pandoc from Markdown.

  gen-man.py --list HEADER...              print the function names
  gen-man.py --pandoc P --outdir D --version V HEADER...   write D/<name>.3
"""
import argparse
import os
import re
import subprocess
import sys

DECL = re.compile(r'POOL_EXTERN\b[^;{]*?;', re.S)
CXX_ATTR = re.compile(r'\[\[\w+\]\]')
NAME = re.compile(r'(pool_\w+)\s*\(')
MD_SPECIAL = re.compile(r'([\\`*_\[\]<>#|~^$@])')


def strip_attributes(decl):
    """Remove every __attribute__((...)), whose parentheses may nest."""
    out = ''
    i = 0
    while True:
        k = decl.find('__attribute__', i)
        if k < 0:
            return CXX_ATTR.sub('', out + decl[i:])
        out += decl[i:k]
        j = decl.index('(', k)
        depth = 0
        while True:
            depth += {'(': 1, ')': -1}.get(decl[j], 0)
            j += 1
            if depth == 0:
                break
        i = j


def functions(path):
    """Yield (name, prototype, comment, header) for each POOL_EXTERN."""
    text = open(path).read()
    header = 'pool/' + os.path.basename(path)
    # Only code outside comments counts as a declaration.
    masked = re.sub(r'/\*.*?\*/', lambda m: re.sub(r'[^\n]', ' ', m.group()),
                    text, flags=re.S)
    masked = re.sub(r'#define[^\n]*(\\\n[^\n]*)*',
                    lambda m: ' ' * len(m.group()), masked)
    for m in DECL.finditer(masked):
        decl = text[m.start():m.end()]
        if '(' not in decl:
            continue
        bare = strip_attributes(decl.replace('POOL_EXTERN', ''))
        bare = bare.replace('POOL_NODISCARD', '')
        n = NAME.search(bare)
        if not n:
            continue
        proto = ' '.join(bare.split())
        yield n.group(1), proto, comment_before(text, masked, m.start()), \
            header


def comment_before(text, masked, pos):
    """The block comment above a declaration, skipping the declarations of
    the same group (one comment may cover several functions)."""
    i = pos
    while True:
        j = i
        while j > 0 and text[j - 1].isspace():
            j -= 1
        if text[j - 2:j] == '*/':
            start = text.rfind('/*', 0, j)
            return text[start + 2:j - 2]
        if j > 0 and text[j - 1] == ';':
            # Another declaration of the group: step over it.
            k = masked.rfind('POOL_EXTERN', 0, j)
            if k < 0:
                return ''
            i = k
            continue
        return ''


def clean(comment):
    lines = []
    for line in comment.split('\n'):
        line = re.sub(r'^\s*\*? ?', '', line)
        lines.append(line.rstrip())
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def to_markdown(name, proto, comment, header, version):
    lines = clean(comment)
    summary = ''
    if lines and lines[0].startswith(name + ' - '):
        summary = lines[0][len(name) + 3:]
        # The summary may wrap onto the next lines of its paragraph.
        k = 1
        while k < len(lines) and lines[k] and not summary.endswith('.'):
            summary += ' ' + lines[k].strip()
            k += 1
    if not summary and lines:
        # A comment shared by several functions: its first sentence.
        first = ' '.join(line.strip() for line in lines[:3])
        summary = first.split('. ')[0].rstrip('.') + '.'
    if not summary:
        summary = 'see the header'
    body = []
    para = []

    def flush():
        if para:
            body.append(' '.join(MD_SPECIAL.sub(r'\\\1', p.strip())
                                 for p in para))
            body.append('')
            para.clear()
    code = []
    for line in lines:
        if line.startswith('  '):
            flush()
            code.append(line)
            continue
        if code:
            body.append('```')
            body.extend(code)
            body.append('```')
            body.append('')
            code = []
        if not line:
            flush()
        else:
            para.append(line)
    flush()
    if code:
        body += ['```'] + code + ['```', '']
    md = [
        '---',
        'title: %s' % name.upper(),
        'section: 3',
        'header: pool manual',
        'footer: pool %s' % version,
        '---',
        '',
        '# NAME',
        '',
        '%s - %s' % (MD_SPECIAL.sub(r'\\\1', name),
                     MD_SPECIAL.sub(r'\\\1', summary)),
        '',
        '# SYNOPSIS',
        '',
        '```',
        '#include <%s>' % header,
        '',
        proto,
        '```',
        '',
        'Link with `pkg-config --cflags --libs pool`.',
        '',
        '# DESCRIPTION',
        '',
    ] + body + [
        '# SEE ALSO',
        '',
        'The header <%s> (the contract) and the documents installed in '
        'share/doc/pool: README.md, docs/pool.md, docs/abi.md.' % header,
        '',
    ]
    return '\n'.join(md)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--list', action='store_true')
    ap.add_argument('--pandoc')
    ap.add_argument('--outdir')
    ap.add_argument('--version', default='')
    ap.add_argument('headers', nargs='+')
    a = ap.parse_args()
    seen = {}
    for h in a.headers:
        for name, proto, comment, header in functions(h):
            if name not in seen:
                seen[name] = (proto, comment, header)
    if a.list:
        print('\n'.join(sorted(seen)))
        return 0
    for name, (proto, comment, header) in sorted(seen.items()):
        md = to_markdown(name, proto, comment, header, a.version)
        out = os.path.join(a.outdir, name + '.3')
        subprocess.run([a.pandoc, '--standalone', '--from', 'markdown',
                        '--to', 'man', '--output', out],
                       input=md.encode(), check=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
