//! The SFTP codec on any bytes: `split_packet` takes packets off the stream until it needs more
//! or gives up, and each body goes through `decode`. No panic; whatever decodes re-encodes (with
//! the test encoder) to one packet that splits and decodes to the same request, so the decoder
//! reads every field it reports and nothing else.
#![no_main]
use gatehouse_ssh::sftp::codec::{decode, encode_request, split_packet};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok(Some((body, used))) = split_packet(rest) {
        assert!(used == body.len() + 4 && used <= rest.len());
        if let Ok(req) = decode(body) {
            let mut again = Vec::new();
            encode_request(&req, &mut again);
            let (body2, used2) = split_packet(&again).expect("an encoded request splits").expect("whole");
            assert_eq!(used2, again.len());
            assert_eq!(decode(body2).expect("an encoded request decodes"), req);
        }
        rest = &rest[used..];
    }
});
