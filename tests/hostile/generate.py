#!/usr/bin/env python3
"""Writes the small hostile .eml files next to this script (tests/hostile.rs reads them).
The big cases (a 200 KB header line, 500 nested multiparts, 2,000 parts, a 2 MB HTML body)
are built in tests/hostile.rs instead. Each message carries a search token "zqNN" (NN = its
number) as a word of the Subject and of the body."""

import base64
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ESC = "\x1b"
CSI = ESC + "[31;1m"
CLEAR = ESC + "[2J" + ESC + "[H"
OSC8 = ESC + "]8;;https://evil.example/\x07"
OSC8_END = ESC + "]8;;\x07"
OSC0 = ESC + "]0;pwned title\x07"
DCS = ESC + "P1$qm" + ESC + "\\"
RLO = "\u202e"
LRI = "\u2066"
PDI = "\u2069"
DATE = "Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n"


def b64word(s):
    return "=?utf-8?b?" + base64.b64encode(s.encode()).decode() + "?="


def msg(n, headers, body, date=DATE):
    tok = "zq%02d" % n
    h = "".join(x + "\r\n" for x in headers).replace("TOKEN", tok)
    return (h + "Message-ID: <hostile-%02d@example.test>\r\n" % n + date + "\r\n"
            + body.replace("TOKEN", tok))


def mixed(n, subject, body, filename_param, extra_headers=()):
    return msg(n, [
        "From: Mallory <mallory@example.test>",
        "To: alice@example.test",
        "Subject: " + subject,
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="b1"',
        *extra_headers,
    ], "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n"
       "--b1\r\nContent-Type: application/octet-stream\r\n"
       "Content-Disposition: attachment; " + filename_param + "\r\n"
       "Content-Transfer-Encoding: base64\r\n\r\n"
       + base64.b64encode(b"payload TOKEN\n").decode() + "\r\n--b1--\r\n")


def plain(n, subject, body, headers=(), date=DATE):
    return msg(n, [
        "From: Mallory <mallory@example.test>",
        "To: alice@example.test",
        "Subject: " + subject,
        *headers,
    ], body + "\r\n", date)


CASES = {
    "01-csi-subject": plain(1, "TOKEN " + CSI + "red" + CLEAR + " subject", "body TOKEN"),
    "02-osc8-from-name": msg(2, [
        "From: " + OSC8 + "Bank" + OSC8_END + " <bank@example.test>",
        "To: alice@example.test",
        "Subject: TOKEN osc8 in from",
    ], "body TOKEN\r\n"),
    "03-osc0-to": msg(3, [
        "From: Mallory <mallory@example.test>",
        "To: " + OSC0 + "Alice <alice@example.test>",
        "Subject: TOKEN osc0 in to",
    ], "body TOKEN\r\n"),
    "04-dcs-filename": mixed(4, "TOKEN dcs in filename", "body TOKEN",
                             'filename="inv' + DCS + 'oice.pdf"'),
    "05-escapes-plain-body": plain(5, "TOKEN escapes in body",
                                   "TOKEN " + CSI + "red " + OSC8 + "link" + OSC8_END + " "
                                   + OSC0 + " " + DCS + CLEAR + " \x9b31m c1 csi \x07bell\x08"),
    "06-escapes-html-body": msg(6, [
        "From: Mallory <mallory@example.test>",
        "To: alice@example.test",
        "Subject: TOKEN escapes in html",
        "MIME-Version: 1.0",
        "Content-Type: text/html; charset=utf-8",
    ], "<html><body><p>TOKEN " + CSI + "red</p><a href=\"https://x.example/" + ESC
       + "[2J\">" + OSC8 + "click" + OSC8_END + "</a><pre>" + OSC0 + DCS
       + "</pre><p title=\"" + ESC + "]0;t\x07\">&#27;[31m &#x9b;2J &#x202e;gnp.exe</p>"
       "</body></html>\r\n"),
    "07-encoded-words": msg(7, [
        "From: " + b64word(ESC + "]0;owned\x07Boss") + " <boss@example.test>",
        "To: " + b64word(CSI + "Alice") + " <alice@example.test>",
        "Subject: TOKEN " + b64word(ESC + "[2J" + OSC8 + "wipe" + OSC8_END + " \u202eexe.txt"),
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="b1"',
    ], "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbody TOKEN\r\n"
       "--b1\r\nContent-Type: application/octet-stream; name=\""
       + b64word(ESC + "[31mname.bin") + "\"\r\n"
       "Content-Disposition: attachment; filename=\"" + b64word(ESC + "]8;;x\x07ew.txt")
       + "\"\r\n\r\nplain payload\r\n"
       "--b1\r\nContent-Type: application/octet-stream\r\n"
       "Content-Disposition: attachment; filename*=utf-8''%1B%5B31m2231%E2%80%AE.bin\r\n"
       "\r\nrfc2231 payload\r\n--b1--\r\n"),
    "08-bidi": mixed(8, "TOKEN " + RLO + "fdp.exe " + LRI + "x" + PDI, "body TOKEN " + RLO + "rev",
                     'filename="invoice' + RLO + 'fdp.exe"'),
    "09-traversal": msg(9, [
        "From: Mallory <mallory@example.test>",
        "To: alice@example.test",
        "Subject: TOKEN traversal",
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="b1"',
    ], "--b1\r\nContent-Type: text/plain\r\n\r\nbody TOKEN\r\n"
       "--b1\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; "
       "filename=\"../../../../tmp/tern-hostile-escape\"\r\n\r\nup\r\n"
       "--b1\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; "
       "filename=\"/tmp/tern-hostile-absolute\"\r\n\r\nabs\r\n"
       "--b1\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; "
       "filename=\"..\\\\..\\\\windows\\\\evil.bat\"\r\n\r\nwin\r\n"
       "--b1\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; "
       "filename=\"..\"\r\n\r\ndots\r\n--b1--\r\n"),
    "10-broken-encodings": msg(10, [
        "From: Mallory <mallory@example.test>",
        "To: alice@example.test",
        "Subject: TOKEN broken encodings",
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="b1"',
    ], "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n"
       "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
       "TOKEN =1B[31m =G1 =\r\n=9B2J =E2=80 =\r\n"
       "--b1\r\nContent-Type: application/octet-stream\r\n"
       "Content-Disposition: attachment; filename=\"broken.bin\"\r\n"
       "Content-Transfer-Encoding: base64\r\n\r\n"
       "G1szMW0=!!!@@@GxtdMDs=\r\nnot base64 at all \x1b[2J\r\nQUJD\r\n--b1--\r\n"),
    "11-bad-charset": plain(11, "TOKEN =?x-no-such-charset?q?=1B[31mz?= charset",
                            "TOKEN body \x1b[31m",
                            ["MIME-Version: 1.0",
                             "Content-Type: text/plain; charset=\"x-\x1b[31m-bogus\""]),
    "13-nul-bytes": plain(13, "TOKEN nul\x00 in subject", "TOKEN body\x00with\x00nuls\x00\x1b\x00[31m"),
    "14-overlong-utf8": None,  # bytes, below
    "15-far-future": plain(15, "TOKEN far future", "body TOKEN",
                           date="Date: Fri, 31 Dec 9999 23:59:59 +1400\r\n"),
    "16-before-1970": plain(16, "TOKEN before 1970", "body TOKEN",
                            date="Date: Mon, 01 Jan 1900 00:00:00 -1200\r\n"),
    "17-c1-controls": plain(17, "TOKEN \u009b31m c1 \u009d0;t\u009c \u0085nel",
                            "TOKEN \u009b2J \u0090dcs\u009c body"),
    "18-from-address-escape": msg(18, [
        "From: \"Mal\x1b[8mlory\" <mal\x1b[31mlory@example.test>",
        "To: alice@example.test, \x1b]0;x\x07 <bob@example.test>",
        "Cc: " + RLO + "moc.elgoog@evil.example",
        "Reply-To: " + b64word("\x07\x1b[5m") + " <r@example.test>",
        "Subject: TOKEN escapes in addresses",
    ], "body TOKEN\r\n"),
}


def write(name, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(HERE, name + ".eml"), "wb") as f:
        f.write(data)


for name, data in CASES.items():
    if data is not None:
        write(name, data)

# No header/body separator: the message ends inside its header block.
write("12-no-separator",
      b"From: Mallory <mallory@example.test>\r\nTo: alice@example.test\r\n"
      b"Subject: zq12 no separator \x1b[31m\r\nMessage-ID: <hostile-12@example.test>\r\n"
      + DATE.encode() + b"X-Body-Here: zq12 \x1b]0;t\x07 no blank line\r\n")

# Overlong UTF-8: ESC as C0 9B / E0 80 9B, '/' as C0 AF, C1 CSI as C2 9B (that one is valid).
write("14-overlong-utf8",
      b"From: Mallory \xc0\x9b[31m <mallory@example.test>\r\nTo: alice@example.test\r\n"
      b"Subject: zq14 \xc0\x9b[31m overlong \xe0\x80\x9b]0;t\x07 \xc0\xaf\xc0\xae\r\n"
      b"Message-ID: <hostile-14@example.test>\r\n" + DATE.encode()
      + b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
      b"--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
      b"zq14 body \xc0\x9b[2J \xf0\x80\x80\x9b \xed\xa0\x80 surrogate\r\n"
      b"--b1\r\nContent-Type: application/octet-stream\r\n"
      b"Content-Disposition: attachment; filename=\"\xc0\xae\xc0\xae\xc0\xaf\xc0\x9b[31m.txt\"\r\n"
      b"\r\nx\r\n--b1--\r\n")
