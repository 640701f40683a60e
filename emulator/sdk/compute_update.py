"""``AksCompute.update``'s configuration: ``AksUpdateConfiguration`` (a new SSL configuration, or
load balancer) and ``SslConfiguration``, with azureml-core 1.61's checks and messages
(``azureml/core/compute/aks.py``), and the cluster's new ``sslConfiguration`` as the SDK builds
it (``Disabled``; ``renew`` of a leaf-domain certificate; your ``cname`` with cert and key;
or a leaf domain label, ``Auto``).
"""

from __future__ import annotations

from typing import Any

from emulator.sdk.exceptions import ComputeTargetException


class SslConfiguration:
    """An AKS cluster's SSL settings: ``cname`` + ``cert`` + ``key``, or ``leaf_domain_label``."""

    def __init__(
        self,
        status: str | None = None,
        cert: str | None = None,
        key: str | None = None,
        cname: str | None = None,
        leaf_domain_label: str | None = None,
        overwrite_existing_domain: bool = False,
        renew: bool = False,
    ) -> None:
        self.status = status
        self.cert = cert
        self.key = key
        self.cname = cname
        self.leaf_domain_label = leaf_domain_label
        self.overwrite_existing_domain = overwrite_existing_domain
        self.renew = renew

    def serialize(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "cert": self.cert,
            "key": self.key,
            "cname": self.cname,
            "leafDomainLabel": self.leaf_domain_label,
            "overwriteExistingDomain": self.overwrite_existing_domain,
            "renew": self.renew,
        }

    @staticmethod
    def deserialize(object_dict: dict[str, Any]) -> SslConfiguration:
        return SslConfiguration(
            object_dict.get("status"),
            object_dict.get("cert"),
            object_dict.get("key"),
            object_dict.get("cname"),
            object_dict.get("leafDomainLabel"),
            object_dict.get("overwriteExistingDomain", False),
            object_dict.get("renew", False),
        )


class AksUpdateConfiguration:
    """What ``AksCompute.update`` changes (``None``: kept)."""

    def __init__(
        self,
        ssl_configuration: SslConfiguration | None = None,
        load_balancer_type: str | None = None,
        load_balancer_subnet: str | None = None,
    ) -> None:
        self.ssl_configuration = ssl_configuration
        self.load_balancer_type = load_balancer_type
        self.load_balancer_subnet = load_balancer_subnet
        self.validate_configuration()

    def validate_configuration(self) -> None:
        """The SDK's checks; raises ``ComputeTargetException``."""
        ssl = self.ssl_configuration
        if ssl and (ssl.cname or ssl.cert or ssl.key):
            if not ssl.cname or not ssl.cert or not ssl.key:
                raise ComputeTargetException(
                    "Invalid configuration, not all ssl information provided. To enable SSL "
                    "validation please provide the cname, cert pem file, and key pem file."
                )
            if ssl.leaf_domain_label:
                raise ComputeTargetException(
                    "Invalid configuration. When cname, cert pem file, and key pem file is "
                    "provided, leaf domain label should not be provided."
                )
            if ssl.overwrite_existing_domain:
                raise ComputeTargetException(
                    "Invalid configuration. Overwrite existing domain only applies to leaf "
                    "domain label. When cname, cert pem file, and key pem file is provided, "
                    "Overwrite existing domain should not be provided."
                )
        if self.load_balancer_subnet and self.load_balancer_type == "PublicIp":
            raise ComputeTargetException(
                "Invalid configuration, load balancer subnet cannot be used with a Public IP."
            )

    def ssl_payload(self, current: dict[str, Any]) -> dict[str, Any] | None:
        """The cluster's new ``sslConfiguration`` (``None``: unchanged), from ``current``."""
        ssl = self.ssl_configuration
        if not ssl:
            return None
        if ssl.status == "Disabled":
            return {"status": "Disabled"}
        if ssl.renew:
            if not current or not current.get("leafDomainLabel"):
                raise ComputeTargetException(
                    "Invalid configuration. When renew is set the cluster should have the leaf "
                    "domain label set for SSL."
                )
            return {**current, "renew": True}
        if ssl.cname:
            return {"status": "Enabled", "cname": ssl.cname}
        if ssl.leaf_domain_label:
            return {
                "status": "Auto",
                "leafDomainLabel": ssl.leaf_domain_label,
                "overwriteExistingDomain": bool(ssl.overwrite_existing_domain),
            }
        return None
