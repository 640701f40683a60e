"""``Datastore.register_*``: registering a datastore over storage outside the workspace.

[emulator] An emulated workspace has one datastore, ``workspaceblobstore``, in the emulated blob
plane, and the v2 face serves that one only. A registration would point at a storage account,
data lake, database or cluster elsewhere, which this machine cannot reach, so each of these
raises the SDK's ``UserErrorException`` saying so and naming what to use instead.
"""

from __future__ import annotations

from typing import Any

from emulator.sdk.exceptions import UserErrorException
from emulator.sdk.workspace import Workspace


def _offline(kind: str, name: str) -> UserErrorException:
    return UserErrorException(
        f"Datastore {name!r} ({kind}) cannot be registered: [emulator] it would read storage "
        "outside this machine, which the emulator cannot reach. Upload the data to the default "
        "datastore instead: ws.get_default_datastore().upload(src_dir, target_path)."
    )


class DatastoreRegistration:
    """The SDK's ``register_*`` factories, each refused offline with the reason."""

    @staticmethod
    def register_azure_blob_container(
        workspace: Workspace,
        datastore_name: str,
        container_name: str,
        account_name: str,
        sas_token: str | None = None,
        account_key: str | None = None,
        protocol: str | None = None,
        endpoint: str | None = None,
        overwrite: bool = False,
        create_if_not_exists: bool = False,
        skip_validation: bool = False,
        blob_cache_timeout: int | None = None,
        grant_workspace_access: bool = False,
        subscription_id: str | None = None,
        resource_group: str | None = None,
    ) -> Any:
        raise _offline("Azure Blob container", datastore_name)

    @staticmethod
    def register_azure_file_share(
        workspace: Workspace,
        datastore_name: str,
        file_share_name: str,
        account_name: str,
        sas_token: str | None = None,
        account_key: str | None = None,
        protocol: str | None = None,
        endpoint: str | None = None,
        overwrite: bool = False,
        create_if_not_exists: bool = False,
        skip_validation: bool = False,
    ) -> Any:
        raise _offline("Azure file share", datastore_name)

    @staticmethod
    def register_azure_data_lake(
        workspace: Workspace,
        datastore_name: str,
        store_name: str,
        tenant_id: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        resource_url: str | None = None,
        authority_url: str | None = None,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        overwrite: bool = False,
        grant_workspace_access: bool = False,
    ) -> Any:
        raise _offline("Azure Data Lake Gen1", datastore_name)

    @staticmethod
    def register_azure_data_lake_gen2(
        workspace: Workspace,
        datastore_name: str,
        filesystem: str,
        account_name: str,
        tenant_id: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        resource_url: str | None = None,
        authority_url: str | None = None,
        protocol: str | None = None,
        endpoint: str | None = None,
        overwrite: bool = False,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        grant_workspace_access: bool = False,
    ) -> Any:
        raise _offline("Azure Data Lake Gen2", datastore_name)

    @staticmethod
    def register_azure_sql_database(
        workspace: Workspace,
        datastore_name: str,
        server_name: str,
        database_name: str,
        tenant_id: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        resource_url: str | None = None,
        authority_url: str | None = None,
        endpoint: str | None = None,
        overwrite: bool = False,
        username: str | None = None,
        password: str | None = None,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        grant_workspace_access: bool = False,
        **kwargs: Any,
    ) -> Any:
        raise _offline("Azure SQL database", datastore_name)

    @staticmethod
    def register_azure_postgre_sql(
        workspace: Workspace,
        datastore_name: str,
        server_name: str,
        database_name: str,
        user_id: str,
        user_password: str,
        port_number: str | None = None,
        endpoint: str | None = None,
        overwrite: bool = False,
        enforce_ssl: bool = True,
        **kwargs: Any,
    ) -> Any:
        raise _offline("Azure PostgreSQL", datastore_name)

    @staticmethod
    def register_azure_my_sql(
        workspace: Workspace,
        datastore_name: str,
        server_name: str,
        database_name: str,
        user_id: str,
        user_password: str,
        port_number: str | None = None,
        endpoint: str | None = None,
        overwrite: bool = False,
        **kwargs: Any,
    ) -> Any:
        raise _offline("Azure MySQL", datastore_name)

    @staticmethod
    def register_dbfs(workspace: Workspace, datastore_name: str) -> Any:
        raise _offline("Databricks File System", datastore_name)

    @staticmethod
    def register_hdfs(
        workspace: Workspace,
        datastore_name: str,
        protocol: str,
        namenode_address: str,
        hdfs_server_certificate: str,
        kerberos_realm: str,
        kerberos_kdc_address: str,
        kerberos_principal: str,
        kerberos_keytab: str | None = None,
        kerberos_password: str | None = None,
        overwrite: bool = False,
    ) -> Any:
        raise _offline("HDFS", datastore_name)
