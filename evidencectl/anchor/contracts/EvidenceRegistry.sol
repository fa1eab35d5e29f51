// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title EvidenceRegistry
/// @notice Records the Merkle roots (SM3 and SHA-256) of an evidencectl deposit in the chain's event log.
/// @dev No storage is written: the event in the transaction receipt is the record, which keeps one anchor
///      cheap whatever the size of the deposit. Anyone may anchor; the sender is part of the event.
contract EvidenceRegistry {
    /// @notice One deposit anchored.
    /// @param depositKey keccak256 of the deposit id, indexed so a deposit can be found with eth_getLogs.
    /// @param sender the account that sent the transaction.
    /// @param depositId the deposit id as given by evidencectl.
    /// @param sm3Root the SM3 Merkle root of the deposit (zero when absent).
    /// @param sha256Root the SHA-256 Merkle root of the deposit (zero when absent).
    event Anchored(
        bytes32 indexed depositKey,
        address indexed sender,
        string depositId,
        bytes32 sm3Root,
        bytes32 sha256Root
    );

    /// @notice Record the roots of deposit `depositId`.
    function anchor(string calldata depositId, bytes32 sm3Root, bytes32 sha256Root) external {
        emit Anchored(keccak256(bytes(depositId)), msg.sender, depositId, sm3Root, sha256Root);
    }
}
