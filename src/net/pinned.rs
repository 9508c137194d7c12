//! A server certificate trusted by its SHA-256 fingerprint (`tls_fingerprint`), for servers
//! whose certificate no CA vouches for: Proton Bridge on loopback, a self-signed home server.
//!
//! Hand-written because rustls has no such verifier (its `danger` API leaves it to the
//! application) and the crates offering one pin a whole rustls of their own. The leaf
//! certificate is accepted if and only if its fingerprint is the one configured, whatever its
//! issuer, name or dates; the handshake's signature is still verified with the certificate's
//! key (by rustls's own functions), so only the holder of that certificate's private key gets
//! through.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, SignatureScheme};

use crate::config::Fingerprint;

/// The certificate's fingerprint is not the one configured.
#[derive(Debug, thiserror::Error)]
#[error(
    "the certificate's fingerprint {got} is not the tls_fingerprint set ({want}): the server's \
     certificate changed, or this is another server — hint: if its certificate was renewed, \
     check the new fingerprint (`tern setup` shows it) and set tls_fingerprint to it"
)]
pub struct Mismatch {
    pub got: Fingerprint,
    pub want: Fingerprint,
}

#[derive(Debug)]
pub struct PinnedVerifier {
    pub fingerprint: Fingerprint,
    pub provider: Arc<CryptoProvider>,
}

/// The mismatch behind a refused certificate, if that was it.
pub fn mismatch(c: &CertificateError) -> Option<&Mismatch> {
    match c {
        CertificateError::Other(o) => o.0.downcast_ref::<Mismatch>(),
        _ => None,
    }
}

/// The fingerprint check itself: shared with SMTP, where lettre hands over the certificate
/// after the handshake.
pub fn check(der: &[u8], want: Fingerprint) -> Result<(), Mismatch> {
    let got = Fingerprint::of(der);
    if got == want {
        Ok(())
    } else {
        Err(Mismatch { got, want })
    }
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        check(end_entity, self.fingerprint)
            .map(|()| ServerCertVerified::assertion())
            .map_err(|e| {
                rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(e))))
            })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
