//! Micro-benchmarks of the scan's hot path, per row or per value: binary COPY decoding,
//! normalization, the keyed HMAC, the generalizations and `Record::from_row` on a decoded
//! batch. The sample values are spelled the way the synthetic generator spells them
//! (full-width forms, `mailto:`, spaces in names, prefecture-less addresses, foreign rows).
//!
//! `cargo bench --bench hot` (one group: `cargo bench --bench hot -- normalize`).

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

use certanon::source::{BATCH_ROWS, Batch, Col, Decoder, NCOLS};
use certanon::transform::domain::domain_class;
use certanon::transform::geography::region_code;
use certanon::transform::pseudonymize::{Class, Key, Pseudonymizer, normalize};
use certanon::transform::record::{Record, SubscriberCache};

/// (common name, person name, organization, e-mail, phone, postal code, address, country,
/// applicant e-mail, approver e-mail, ACME contact)
type Sample = [&'static str; 11];

const SAMPLES: [Sample; 12] = [
    [
        "www.midorinetworks.jp",
        "山田　沙織",
        "株式会社みどりネットワークス",
        "yamada.saori@midorinetworks.jp",
        "0587827558",
        "5004357",
        "岐阜県 岐阜市富士見1-36-11",
        "JP",
        "yamada.saori＠midorinetworks.jp",
        "",
        "",
    ],
    [
        "www.alpha-tech-aichi.com",
        "石田大樹",
        "株式会社アルファテクノロジー",
        "daiki_ishida@alpha-tech-aichi.com　",
        "052(815)8397",
        "",
        "愛知県岡崎市寿町９-７-９",
        "JP",
        "mailto:daiki_ishida@alpha-tech-aichi.com",
        "webmaster@alpha-tech-aichi.com",
        "",
    ],
    [
        "www.hikari-denshi-hyogo.co.jp",
        "佐藤陽子",
        "株式会社ひかり電子",
        "Ssl@Hikari-Denshi-Hyogo.Co.Jp",
        "078-881-4496",
        "〒658-4091",
        "神戸市西区柳町2丁目1番13号",
        "JP",
        "ssl@hikari-denshi-hyogo.co.jp",
        "",
        "ssl@hikari-denshi-hyogo.co.jp",
    ],
    [
        "www.hokkai73.com",
        "吉田　奈々",
        "Hokkai K.K.",
        "nana412@hokkai73.com",
        "０７５－２０５－９４６３",
        "６１３－４１８６",
        "",
        "JP",
        "nana412@hokkai73.com",
        "",
        "MAILTO:Nana412@hokkai73.com",
    ],
    [
        "*.eco-design-chiba.co.jp",
        "吉田　優子",
        "（株）エコデザイン",
        "mailto:yoshidayuko@eco-design-chiba.co.jp",
        "090-8243-7894",
        "2869609",
        "千葉県松戸市山手町7-23-29",
        "JP",
        "yoshidayuko@eco-design-chiba.co.jp",
        "administrator@eco-design-chiba.co.jp　",
        "",
    ],
    [
        "www.nihontech.ne.jp",
        "福田 純一",
        "有限会社日本テクノロジー",
        "admin＠nihontech.ne.jp",
        "090 6471 9378",
        "545-6330",
        "大阪府豊中市緑町2丁目21番5号 スカイタワー16F",
        "JP",
        "admin@nihontech.ne.jp",
        "administrator@nihontech.ne.jp",
        "",
    ],
    [
        "lakeside.com.au",
        "Robert Davis",
        "Lakeside Pty Ltd",
        "robert.davis@lakeside.com.au",
        "0457 458 563",
        "3000",
        "685 George Street, Melbourne VIC 3000",
        "AU",
        "Robert.Davis@Lakeside.Com.Au",
        "webmaster@lakeside.com.au",
        "",
    ],
    [
        "dev.taiyo-kai.or.jp",
        "宮崎 直美",
        "医療法人社団太陽会",
        " miyazakinaomi@taiyo-kai.or.jp ",
        "０７８－９７３－７６５６",
        "674-5544",
        "兵庫県尼崎市桜木町3丁目35番20号　グランドビル403",
        "JP",
        "miyazakinaomi@taiyo-kai.or.jp",
        "",
        "",
    ],
    [
        "blog.midorifoods.co.jp",
        "山田 達也",
        "Ｍｉｄｏｒｉ　Ｆｏｏｄｓ　Ｃｏ．，　Ｌｔｄ．",
        "tatsuya_yamada@midorifoods.co.jp",
        "+81 77 959 8687",
        "523-5577",
        "滋賀県大津市平和町6丁目8番6号ビジネスセンター 801号室",
        "JP",
        "tatsuya_yamada@midorifoods.co.jp",
        "mailto:webmaster@midorifoods.co.jp",
        "",
    ],
    [
        "www.cloudberry.tw",
        "張家豪",
        "Cloudberry股份有限公司",
        "MAILTO:Chang.Chia.Hao@cloudberry.tw",
        "+886271807190",
        "407",
        "台中市西屯區台灣大道三段425號",
        "TW",
        "chang.chia.hao@cloudberry.tw",
        "chang.chia.hao@cloudberry.tw",
        "",
    ],
    [
        "tomokoyokoyama.net",
        "横山智子",
        "",
        "tomoko712@gmail.com",
        "0336153218",
        "172-0601",
        "杉並区花園22番地9駅前ビル3F",
        "JP",
        "tomoko712＠gmail.com",
        "administrator@tomokoyokoyama.net",
        "",
    ],
    [
        "www.yokoyama6.com",
        "横山 奈々",
        "",
        "Yokoyama.Nana@Yahoo.Co.Jp",
        "０８０（９８１９）０８４３",
        "",
        "",
        "JP",
        "yokoyama.nana@yahoo.co.jp",
        "",
        "ｙｏｋｏｙａｍａ．ｎａｎａ＠ｙａｈｏｏ．ｃｏ．ｊｐ",
    ],
];

fn text(s: &str) -> Option<Vec<u8>> {
    (!s.is_empty()).then(|| s.as_bytes().to_vec())
}

/// PostgreSQL's binary timestamptz: microseconds since 2000-01-01.
fn timestamp(unix_secs: i64) -> Option<Vec<u8>> {
    Some(
        ((unix_secs - 946_684_800) * 1_000_000)
            .to_be_bytes()
            .to_vec(),
    )
}

fn row(i: usize) -> Vec<Option<Vec<u8>>> {
    let s = &SAMPLES[i % SAMPLES.len()];
    let mut r: Vec<Option<Vec<u8>>> = vec![None; NCOLS];
    let issued = 1_600_000_000 + (i as i64 % 1000) * 86_400;
    let mut set = |col: Col, v: Option<Vec<u8>>| r[col as usize] = v;
    set(
        Col::CertificateId,
        Some((i as i64 + 1).to_be_bytes().to_vec()),
    );
    set(Col::CommonName, text(s[0]));
    set(
        Col::ValidationType,
        text(if i.is_multiple_of(7) { "OV" } else { "DV" }),
    );
    set(
        Col::KeyAlgorithm,
        text(if i.is_multiple_of(3) { "ECDSA" } else { "RSA" }),
    );
    set(
        Col::KeySize,
        Some(
            (if i.is_multiple_of(3) { 256i32 } else { 2048 })
                .to_be_bytes()
                .to_vec(),
        ),
    );
    set(Col::NotBefore, timestamp(issued));
    set(Col::NotAfter, timestamp(issued + 397 * 86_400));
    set(Col::IssuedAt, timestamp(issued));
    set(Col::Channel, text(["operator", "acme", "other"][i % 3]));
    set(Col::ApplicantEmail, text(s[8]));
    set(Col::ApproverEmail, text(s[9]));
    set(
        Col::SubscriberId,
        Some((i as i64 / 4 + 1).to_be_bytes().to_vec()),
    );
    set(
        Col::SubscriberKind,
        text(if s[2].is_empty() {
            "individual"
        } else {
            "organization"
        }),
    );
    set(Col::OrganizationName, text(s[2]));
    set(Col::PersonName, text(s[1]));
    set(Col::Email, text(s[3]));
    set(Col::Phone, text(s[4]));
    set(Col::PostalCode, text(s[5]));
    set(Col::PostalAddress, text(s[6]));
    set(Col::Country, text(s[7]));
    if !s[10].is_empty() {
        set(
            Col::AcmeAccountId,
            Some((i as i64 / 8 + 1).to_be_bytes().to_vec()),
        );
        set(Col::AcmeContactEmail, text(s[10]));
    }
    r
}

/// Encodes rows the way PostgreSQL's `COPY ... (FORMAT binary)` does.
fn encode(rows: usize) -> Vec<u8> {
    let mut out = b"PGCOPY\n\xff\r\n\0".to_vec();
    out.extend_from_slice(&0u32.to_be_bytes());
    out.extend_from_slice(&0u32.to_be_bytes());
    for i in 0..rows {
        let fields = row(i);
        out.extend_from_slice(&(fields.len() as i16).to_be_bytes());
        for f in fields {
            match f {
                Some(v) => {
                    out.extend_from_slice(&(v.len() as i32).to_be_bytes());
                    out.extend_from_slice(&v);
                }
                None => out.extend_from_slice(&(-1i32).to_be_bytes()),
            }
        }
    }
    out.extend_from_slice(&(-1i16).to_be_bytes());
    out
}

/// Decodes the stream in 64 KiB chunks, as tokio-postgres hands them over.
fn decode(data: &[u8]) -> Vec<Batch> {
    let mut decoder = Decoder::new(BATCH_ROWS);
    let mut batches = Vec::new();
    for chunk in data.chunks(64 * 1024) {
        batches.extend(decoder.push(chunk).expect("a well-formed stream"));
    }
    let (last, _) = decoder.finish().expect("a complete stream");
    batches.extend(last);
    batches
}

fn pseudonymizer() -> Pseudonymizer {
    Pseudonymizer::new(&Key::random("bench").expect("the OS random generator"))
}

fn bench_decode(c: &mut Criterion) {
    // Several batches: the decoder's buffer handling between batches is part of the cost.
    let rows = 4 * BATCH_ROWS;
    let data = encode(rows);
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(rows as u64));
    g.sample_size(20);
    g.bench_function("copy_binary_4_batches", |b| {
        b.iter(|| black_box(decode(black_box(&data))))
    });
    g.finish();
}

fn bench_normalize(c: &mut Criterion) {
    let mut g = c.benchmark_group("normalize");
    let columns = [
        ("email", Class::Email, [3usize, 8, 9, 10]),
        ("phone", Class::Phone, [4, 4, 4, 4]),
        ("person", Class::Person, [1, 1, 1, 1]),
        ("organization", Class::Organization, [2, 2, 2, 2]),
    ];
    for (name, class, fields) in columns {
        let mut values: Vec<&str> = SAMPLES
            .iter()
            .flat_map(|s| fields.map(|f| s[f]))
            .filter(|v| !v.is_empty())
            .collect();
        values.dedup();
        g.throughput(Throughput::Elements(values.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                for v in &values {
                    black_box(normalize(class, black_box(v)));
                }
            })
        });
    }
    g.finish();
}

fn bench_hmac(c: &mut Criterion) {
    let p = pseudonymizer();
    let mut g = c.benchmark_group("pseudonym");
    g.throughput(Throughput::Elements(1));
    g.bench_function("raw_hmac_email", |b| {
        b.iter(|| black_box(p.raw(Class::Email, black_box("yamada.saori@midorinetworks.jp"))))
    });
    g.bench_function("raw_hmac_id", |b| {
        b.iter(|| black_box(p.raw(Class::Certificate, black_box("1234567"))))
    });
    g.finish();
}

fn bench_generalize(c: &mut Criterion) {
    let mut g = c.benchmark_group("generalize");
    g.throughput(Throughput::Elements(SAMPLES.len() as u64));
    let opt = |s: &'static str| (!s.is_empty()).then_some(s);
    g.bench_function("region_code", |b| {
        b.iter(|| {
            for s in &SAMPLES {
                black_box(region_code(
                    black_box(opt(s[5])),
                    black_box(opt(s[6])),
                    black_box(opt(s[7])),
                ));
            }
        })
    });
    g.bench_function("domain_class", |b| {
        b.iter(|| {
            for s in &SAMPLES {
                black_box(domain_class(black_box(s[0])));
            }
        })
    });
    g.finish();
}

fn bench_record(c: &mut Criterion) {
    let p = pseudonymizer();
    let batches = decode(&encode(BATCH_ROWS));
    let batch = &batches[0];
    let mut g = c.benchmark_group("record");
    g.throughput(Throughput::Elements(batch.len() as u64));
    g.sample_size(20);
    g.bench_function("from_row_batch", |b| {
        b.iter_batched(
            || (Vec::with_capacity(batch.len()), SubscriberCache::default()),
            |(mut out, mut cache): (Vec<Record>, SubscriberCache)| {
                out.extend(batch.rows().map(|r| Record::from_row(&r, &p, &mut cache)));
                out
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(
    hot,
    bench_decode,
    bench_normalize,
    bench_hmac,
    bench_generalize,
    bench_record
);
criterion_main!(hot);
